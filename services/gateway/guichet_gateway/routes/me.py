"""The citizen's own account (« Mon compte »), password and household (« Mon foyer »): routes of the accounts
blueprint (see ``accounts.py``). Each acts on the caller's own account only."""
from __future__ import annotations

from flask.views import MethodView

from guichet_contracts.api import accounts as api

from ..auth import require_citizen
from ..ratelimit import limiter
from .accounts import TOKEN_LIMIT, blp, body_as_sent, call_accounts, documented_body


@blp.route("/me")
class Me(MethodView):
    @require_citizen
    @blp.response(200, api.Profile)
    @blp.problems(401, 403, 404)
    def get(self, caller):
        """My account: civil data, contact, address, social data, last login."""
        return call_accounts("me", caller=caller)

    @require_citizen
    @documented_body(api.ProfileChanges)
    @blp.response(200, api.Profile)
    @blp.problems(400, 401, 403, 404, 422)
    def patch(self, caller):
        """Change my account (refused while the town has not validated it): only the fields sent change.

        The town's registration rules apply to the account as it would be: the service answers every
        problem at once."""
        return call_accounts("update_me", caller=caller, changes=body_as_sent())


@blp.route("/me/password", methods=["PUT"])
@limiter.limit(TOKEN_LIMIT)
@require_citizen
@blp.arguments(api.PasswordChange)
@blp.response(200, api.PasswordWasChanged)
@blp.problems(401, 403, 404, 422, 429)
def change_password(payload, caller):
    """Change my password; my other sessions end."""
    return call_accounts("change_password", caller=caller, **payload)


@blp.route("/me/household/members")
class Members(MethodView):
    @require_citizen
    @blp.response(200, api.Household)
    @blp.problems(401, 403, 404)
    def get(self, caller):
        """Mon foyer: the titulaire, the spouse or partner, the children and others."""
        return call_accounts("household", caller=caller)

    @require_citizen
    @blp.arguments(api.Member)
    @blp.response(201, api.HouseholdMember)
    @blp.problems(401, 403, 404, 422)
    def post(self, member, caller):
        """Add a member (the family name is pre-filled with mine)."""
        return call_accounts("add_member", caller=caller, member=body_as_sent())


@blp.route("/me/household/members/<member_id>")
class Member(MethodView):
    @require_citizen
    @blp.arguments(api.MemberChanges)
    @blp.response(200, api.HouseholdMember)
    @blp.problems(401, 403, 404, 409, 422)
    def patch(self, changes, member_id, caller):
        """Edit a member of my household (the titulaire is edited in « Mon compte »: 409)."""
        return call_accounts("update_member", caller=caller, member_id=member_id, changes=body_as_sent())

    @require_citizen
    @blp.response(200, api.MemberRemoved)
    @blp.problems(401, 403, 404, 409)
    def delete(self, member_id, caller):
        """Remove a member of my household (not the titulaire: 409)."""
        return call_accounts("remove_member", caller=caller, member_id=member_id)
