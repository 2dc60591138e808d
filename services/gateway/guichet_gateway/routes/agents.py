"""The town agents' accounts routes: account search and validation, town-provisioned accounts and their CSV
import, family file references, schooling, the audit log. Routes of the accounts blueprint (see
``accounts.py``); each needs its role (administrators hold them all)."""
from __future__ import annotations

from flask.views import MethodView

from guichet_common.errors import InvalidInput
from guichet_contracts.api import accounts as api
from guichet_contracts.api.common import AuditPageQuery

from ..auth import require_agent
from .accounts import blp, body_as_sent, call_accounts

MAX_IMPORT_BYTES = 1024 * 1024
CSV_TYPES = ("text/csv", "text/plain", "application/csv", "application/vnd.ms-excel")
IMPORT_TIMEOUT = 120  # seconds: each line hashes an initial password (argon2id)


class InvalidUpload(InvalidInput):
    slug = "invalid-upload"


def _csv_text(upload) -> str:
    """The uploaded file as text, refused unless it is a small UTF-8 (or Latin-1, as Excel saves) CSV file."""
    name = (getattr(upload, "filename", None) or "").lower()
    if not hasattr(upload, "read") or not name.endswith((".csv", ".txt")) or upload.mimetype not in CSV_TYPES:
        raise InvalidUpload(errors={"file": ["Le fichier doit être au format CSV (.csv)."]})  # composed
    content = upload.read(MAX_IMPORT_BYTES + 1)
    if len(content) > MAX_IMPORT_BYTES:
        raise InvalidUpload(errors={"file": ["Le fichier dépasse la taille maximale de 1 Mo."]})  # composed
    if b"\0" in content:
        raise InvalidUpload(errors={"file": ["Le fichier doit être au format CSV (.csv)."]})  # composed
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        return content.decode("cp1252", errors="replace")


@blp.route("/agent/accounts")
class AgentAccounts(MethodView):
    @require_agent("account_validator")
    @blp.arguments(api.AccountSearchQuery, location="query")
    @blp.response(200, api.AccountSummaryPage)
    @blp.problems(401, 403, 422)
    def get(self, query, caller):
        """Search citizen accounts (by name, email or login; by status), newest first, one page at a time
        (``next_cursor`` is the ``cursor`` of the next page)."""
        return call_accounts("agent_search", caller=caller, query=query["q"], status=query["status"],
                             cursor=query["cursor"], limit=query["limit"])

    @require_agent("administrator")
    @blp.arguments(api.Provision)
    @blp.response(201, api.ProvisionedAccount)
    @blp.problems(401, 403, 422)
    def post(self, account, caller):
        """Create a town-provisioned account (login and initial password to print on the invoice)."""
        return call_accounts("agent_provision", caller=caller, account=body_as_sent())


@blp.route("/agent/accounts/<account_id>/validation", methods=["POST"])
@require_agent("account_validator")
@blp.response(200, api.AccountStatus)
@blp.problems(401, 403, 404, 409)
def validate_account(account_id, caller):
    """Validate an account awaiting the town's validation (audited, notified); any other status is a 409."""
    return call_accounts("agent_validate", caller=caller, account_id=account_id)


@blp.route("/agent/accounts/imports", methods=["POST"])
@require_agent("administrator")
@blp.arguments(api.CsvUpload, location="files")
@blp.response(200, api.ImportReport)
@blp.problems(401, 403, 422)
def import_families(files, caller):
    """Create town-provisioned accounts from a CSV file, one per line (answers each line's login and initial
    password, or its errors)."""
    return {"lines": call_accounts("agent_import_families", caller=caller, timeout=IMPORT_TIMEOUT,
                                   csv_text=_csv_text(files["file"]))}


@blp.route("/agent/accounts/<account_id>/family-file", methods=["PUT"])
@require_agent("enfance", "regisseur")
@blp.arguments(api.FamilyFileReference)
@blp.response(200, api.AccountFamilyFile)
@blp.problems(401, 403, 404, 422)
def set_family_file(payload, account_id, caller):
    """Attach a family-file reference (dossier famille) to an account."""
    return call_accounts("agent_set_family_file", caller=caller, account_id=account_id,
                         family_file_ref=payload["family_file_ref"])


@blp.route("/agent/audit", methods=["GET"])
@require_agent("administrator")
@blp.arguments(AuditPageQuery, location="query")
@blp.response(200, api.AuditPage)
@blp.problems(401, 403, 422)
def audit(query, caller):
    """The agents' actions (who, what, when), newest first, one page at a time (50 by default)."""
    return call_accounts("agent_audit", caller=caller, cursor=query["cursor"], limit=query["limit"])


@blp.route("/agent/accounts/<account_id>/members/<member_id>/school")
class Schooling(MethodView):
    @require_agent("enfance")
    @blp.arguments(api.School)
    @blp.response(200, api.MemberSchooling)
    @blp.problems(401, 403, 404, 422)
    def put(self, school, account_id, member_id, caller):
        """Record a child's schooling (school year, school, level, class, certificate link), audited."""
        return call_accounts("agent_set_school", caller=caller, account_id=account_id, member_id=member_id,
                             school=body_as_sent())

    @require_agent("enfance")
    @blp.response(200, api.MemberSchooling)
    @blp.problems(401, 403, 404)
    def delete(self, account_id, member_id, caller):
        """The child is no longer schooled in the town."""
        return call_accounts("agent_set_school", caller=caller, account_id=account_id, member_id=member_id,
                             school=None)
