"""NC evidence files go through the one attachment store; a refused file leaves no trace."""

import io
from pathlib import Path

import pytest
from sqlalchemy import func, select

from qms import attachments, clock
from qms.errors import ValidationFailed
from qms.extensions import db
from qms.improvement import services
from qms.improvement.models import Evidence, Nonconformity
from qms.trail import AuditEvent
from qms.uow import unit_of_work
from tests.builders_improvement import raised

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(64))
HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def files_on_disk(app) -> list[Path]:
    """Every file under the attachment store, temporary uploads included."""
    root = Path(app.config["QMS_ATTACHMENTS_DIR"])
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_evidence_file_is_kept_in_the_attachment_store_by_its_hash(app, users):
    nc = raised(users)
    evidence = services.add_attachment(
        users["staff"], nc, io.BytesIO(PNG), "C:\\scans\\counter.txt"
    )
    assert evidence.filename == "counter.txt" and evidence.size == len(PNG)
    # The type is read from the content, not from the name or what the browser claims.
    assert evidence.content_type == "image/png"
    assert services.attachment_path(evidence) == attachments.path(evidence.sha256)
    assert services.attachment_path(evidence).read_bytes() == PNG
    assert evidence.sha256 in attachments.referenced()
    assert attachments.problems() == []


def test_refused_evidence_file_leaves_no_row_no_file_and_no_trail_event(app, users):
    nc = raised(users)
    events = count(AuditEvent)
    with pytest.raises(ValidationFailed) as exc:
        services.add_attachment(users["staff"], nc, io.BytesIO(HTML), "inspection-report.pdf")
    assert exc.value.field == "file" and "inspection-report.pdf" in exc.value.message
    assert count(Evidence) == 0
    assert files_on_disk(app) == []
    assert count(AuditEvent) == events


def test_evidence_over_the_configured_limit_is_refused(app, users):
    app.config["QMS_MAX_ATTACHMENT_BYTES"] = 1000
    nc = raised(users)
    with pytest.raises(ValidationFailed) as exc:
        services.add_attachment(users["staff"], nc, io.BytesIO(b"a" * 1001), "log.txt")
    assert "larger than" in exc.value.message
    assert count(Evidence) == 0 and files_on_disk(app) == []


def test_a_file_stored_by_work_that_fails_later_is_removed_again(app, users):
    nc = raised(users)
    with pytest.raises(RuntimeError), unit_of_work():
        evidence = services.add_attachment(users["staff"], nc, io.BytesIO(PNG), "photo.png")
        assert attachments.exists(evidence.sha256)
        raise RuntimeError("a later step of the same work failed")
    assert count(Evidence) == 0 and files_on_disk(app) == []


def test_raising_with_a_refused_file_leaves_no_nonconformity(app, users):
    events = count(AuditEvent)
    with pytest.raises(ValidationFailed) as exc:
        raised(
            users,
            files=[(io.BytesIO(PNG), "photo.png"), (io.BytesIO(HTML), "photo2.jpg")],
        )
    assert exc.value.field == "files"
    assert count(Nonconformity) == 0 and count(Evidence) == 0
    # The good file stored before the refusal went with the rest of the work.
    assert files_on_disk(app) == []
    assert count(AuditEvent) == events
    # Not even a number was used up.
    nc = raised(users, files=[(io.BytesIO(PNG), "photo.png")])
    assert nc.number == f"NC-{clock.today().year}-0001"
    assert [(e.kind, e.filename) for e in nc.evidence] == [("attachment", "photo.png")]


def _raise_form(**change) -> dict:
    data = {
        "title": "Queue ticket printer jammed",
        "description": "Customers waited without tickets for 40 minutes.",
        "source": "staff_report",
        "severity": "minor",
        "department": "Service Hall",
        "clause": "8.5.1",
        "responsible": "",
        "records": "",
        "submit": "Raise nonconformity",
    }
    data.update(change)
    return data


def test_raising_from_the_page_with_a_refused_file_raises_nothing_and_keeps_the_text(
    app, users, client, auth
):
    auth.login("staff")
    response = client.post(
        "/improvement/new",
        data=_raise_form(files=[(io.BytesIO(PNG), "photo.png"), (io.BytesIO(HTML), "scan.pdf")]),
        content_type="multipart/form-data",
    )
    assert response.status_code == 200
    assert "scan.pdf is not a kind of file that can be attached" in response.text
    assert "Customers waited without tickets for 40 minutes." in response.text
    assert count(Nonconformity) == 0 and count(Evidence) == 0 and files_on_disk(app) == []


def test_raising_from_the_page_with_files_attaches_them(app, users, client, auth):
    auth.login("staff")
    response = client.post(
        "/improvement/new",
        data=_raise_form(files=[(io.BytesIO(PNG), "photo.png")]),
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    nc = db.session.scalar(select(Nonconformity))
    [evidence] = nc.evidence
    with client.get(f"/improvement/{nc.number}/evidence/{evidence.id}") as download:
        assert download.status_code == 200 and download.data == PNG


def test_refused_file_on_the_evidence_page(app, users, client, auth):
    nc = raised(users)
    auth.login("staff")
    response = client.post(
        f"/improvement/{nc.number}/evidence",
        data={"evidence-file": (io.BytesIO(HTML), "report.pdf")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert "report.pdf is not a kind of file that can be attached" in response.text
    assert count(Evidence) == 0 and files_on_disk(app) == []


def test_the_attachment_store_can_live_outside_the_instance(tmp_path, monkeypatch):
    from qms import create_app

    monkeypatch.setenv("QMS_ATTACHMENTS_DIR", str(tmp_path / "elsewhere"))
    app = create_app({"TESTING": True, "QMS_INSTANCE": str(tmp_path / "instance")})
    assert app.config["QMS_ATTACHMENTS_DIR"] == str(tmp_path / "elsewhere")
