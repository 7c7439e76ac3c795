"""API resource for full-text search over documents, records, nonconformities and actions."""

from flask import g
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from qms.api import PagingQuery, authenticate, paged
from qms.search import services
from qms.search.models import SEARCH_TYPES

blp = Blueprint("api_search", __name__, url_prefix="/search", description="Full-text search")
blp.before_request(authenticate)


class SearchQuery(PagingQuery):
    q = fields.String(required=True, validate=validate.Length(min=1, max=services.MAX_QUERY))
    type = fields.List(
        fields.String(validate=validate.OneOf(SEARCH_TYPES)),
        load_default=list,
        metadata={"description": "Repeat to search several types; all types when absent."},
    )
    all_revisions = fields.Boolean(
        load_default=False,
        metadata={"description": "Include superseded and obsolete document revisions."},
    )


class HitSchema(Schema):
    type = fields.String()
    key = fields.String(metadata={"description": "Document code, or record / NC / action number"})
    version = fields.String(metadata={"description": "Document revision label; empty otherwise"})
    current = fields.Boolean()
    title = fields.String()
    snippet = fields.Method(
        "get_snippet",
        metadata={
            "description": "The passage around the first match: HTML-escaped text "
            "with each match in <mark>."
        },
    )

    def get_snippet(self, hit) -> str:
        return str(hit.snippet)


class SearchPageSchema(Schema):
    items = fields.List(fields.Nested(HitSchema))
    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer()
    pages = fields.Integer()


@blp.get("")
@blp.arguments(SearchQuery, location="query", as_kwargs=True)
@blp.response(200, SearchPageSchema)
def search(q, type, all_revisions, page, per_page):
    """Find the items containing every word of q (any run of Chinese characters matches)."""
    return paged(
        services.search(
            q,
            types=type,
            all_revisions=all_revisions,
            page=page,
            per_page=min(per_page, 100),
            viewer=g.api_user,
        )
    )
