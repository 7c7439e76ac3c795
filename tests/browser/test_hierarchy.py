"""The hierarchy opens collapsed; a toggle fetches a node's children and folds them again."""

from tests.browser.conftest import sign_in


def test_a_collapsed_node_loads_its_children_on_click_and_folds_them(page, site):
    sign_in(page, "staff")
    page.goto("/documents/tree")
    first = page.locator(".tree a.tree-toggle[aria-expanded=false]").first
    code = first.locator("xpath=ancestor::li[1]").get_attribute("id")
    # Pinned to that node: the locator above moves on to the next collapsed one.
    toggle = page.locator(f"li[id='{code}'] > .node > a.tree-toggle")
    assert page.locator(f"li[id='{code}'] > ul").count() == 0  # not in the first response
    toggle.click()
    children = page.locator(f"li[id='{code}'] > ul > li")
    children.first.wait_for()
    assert children.count() > 0 and toggle.get_attribute("aria-expanded") == "true"
    assert "/documents/tree" in page.url and "open=" not in page.url  # fetched, not followed
    page.shot("unfolded")
    toggle.click()
    assert page.locator(f"li[id='{code}'] > ul").is_hidden()
    assert toggle.get_attribute("aria-expanded") == "false"
