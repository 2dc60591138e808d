"""French templates: catalogue, rendering, personalisation checks, escaping, sandbox."""
import copy

import pytest

from guichet_notifications.domain import sms
from guichet_notifications.domain.delivery import PermanentFailure
from guichet_notifications.domain.templates import (
    InvalidPersonalisation,
    MissingPersonalisation,
    TemplateDefinitionError,
    TemplateError,
    TemplateRenderError,
    TownBranding,
    UnknownTemplate,
    template_from_meta,
)

from .. import factories

NBSP = "\u00a0"

ROUBAIX = TownBranding(
    name="Ville de Roubaix",
    logo_url="https://www.ville-roubaix.fr/logo.png",
    address="17, Grand' Place\nCS 70737\n59100 ROUBAIX Cedex 1",
    phone="03 20 65 46 00",
    email="contact@ville-roubaix.fr",
    website="https://www.ville-roubaix.fr",
    opening_hours=("Lundi au vendredi : 8 h 30 - 17 h", "Samedi matin : 9 h - 12 h"),
    portal_url="https://demarches.ville-roubaix.fr",
)

SAMPLES = {
    "account_activation": {"activation_url": "https://demarches.example.fr/activer?jeton=abc&x=1",
                           "expires_at": "2026-11-25T13:30:00Z", "suggested_username": "pascal.dupin"},
    "password_reset": {"reset_url": "https://demarches.example.fr/reinit?jeton=abc",
                       "expires_at": "2026-11-25T13:30:00Z"},
    "login_reminder": {"username": "pascal.dupin"},
    "account_validated": {},
    "email_required_reminder": {},
    "demande_acknowledgement": {"demande_number": "125", "procedure_name": "Fiche enfant",
                                "submitted_at": "2017-10-04T08:12:00Z", "concerned_person": "DUPIN Florian",
                                "missing_documents": ["Carnet de vaccination", "Livret de famille"]},
    "demande_decision": {"demande_number": "28", "procedure_name": "Demande d'acte de naissance",
                         "decision": "refus", "decided_at": "2015-12-10T11:23:00Z",
                         "reason": "La personne n'est pas née dans la commune", "response_mode": "Lettre"},
    "demande_status_changed": {"demande_number": "29", "procedure_name": "Signalement VIVACITE",
                               "status": "traitee", "changed_at": "2015-12-10T11:24:09Z",
                               "comment": "pots enlevés ce matin", "step": 4},
    "town_message": {"demande_number": "16", "procedure_name": "Fiche enfant",
                     "message_subject": "Demande de justificatifs",
                     "message_body": "Merci de fournir le carnet de vaccination.\n\nCordialement"},
    "information_message": {"message": "Merci de vous présenter à l'accueil de la mairie.",
                            "demande_number": "125", "documents": ["Pièce d'identité", "Justificatif de domicile"],
                            "location": "Accueil central", "deadline": "2026-12-04"},
    "reminder": {"action": "sortir vos encombrants dans la rue", "date": "2026-11-25", "demande_number": "310"},
    "payment_receipt": {"amount_cents": 1250, "invoice_number": "602624", "regie_name": "Régie Périscolaire",
                        "paid_at": "2026-11-25T13:30:00Z", "payment_method": "carte bancaire"},
    "invoice_available": {"invoice_number": "92304", "amount_cents": 7560, "regie_name": "Régie Ville",
                          "issued_at": "2013-04-11", "due_date": "2013-04-30", "period": "2013-03"},
    "reservation_confirmation": {"reservations": [
        {"person": "MOULIN Eric", "activity": "Les mercredis kids : Matin", "date": "2018-05-16"},
        {"person": "MOULIN Eric", "activity": "Restauration scolaire : Repas de midi", "date": "2018-05-15"},
        {"person": "MOULIN Jeanne", "activity": "Restauration scolaire : Repas de midi", "date": "2018-05-14"}]},
    "family_account_statement": {"regie_name": "Régie Quiévrechain", "month": "2018-03", "balance_cents": -305,
                                 "balance_date": "2018-04-30", "operations": [
                                     {"date": "2018-03-06", "label": "Restauration scolaire - Repas de midi",
                                      "debit_cents": 305}]},
}

EXPECTED = {
    # name: (channels, essential, security)
    "account_activation": ({"email"}, True, True),
    "password_reset": ({"email"}, True, True),
    "login_reminder": ({"email"}, True, True),
    "account_validated": ({"email", "sms"}, True, False),
    "email_required_reminder": ({"sms"}, True, False),
    "demande_acknowledgement": ({"email"}, True, False),
    "demande_decision": ({"email", "sms"}, True, False),
    "demande_status_changed": ({"email", "sms"}, False, False),
    "town_message": ({"email", "sms"}, True, False),
    "information_message": ({"email", "sms"}, True, False),
    "reminder": ({"email", "sms"}, False, False),
    "payment_receipt": ({"email"}, True, False),
    "invoice_available": ({"email", "sms"}, False, False),
    "reservation_confirmation": ({"email"}, True, False),
    "family_account_statement": ({"email"}, False, False),
}


@pytest.fixture(scope="module")
def catalog():
    return factories.catalog()


@pytest.fixture
def renderer():
    return factories.renderer(ROUBAIX)


def email(renderer, catalog, name, **overrides):
    return renderer.render_email(catalog.get_template(name), {**copy.deepcopy(SAMPLES[name]), **overrides},
                                 unsubscribe_url="https://demarches.example.fr/desabonnement/abc")


# --- catalogue ---------------------------------------------------------------------

def test_every_template_other_services_use_exists(catalog):
    assert set(catalog) == set(EXPECTED)
    for name, (channels, essential, security) in EXPECTED.items():
        template = catalog.get_template(name)
        assert set(template.channels) == channels, name
        assert template.essential is essential, name
        assert template.security is security, name
        assert template.version >= 1 and template.description
        assert len(template.checksum) == 64


def test_unknown_template_is_a_permanent_failure(catalog):
    with pytest.raises(UnknownTemplate) as info:
        catalog.get_template("bulletin_municipal")
    assert isinstance(info.value, PermanentFailure)
    assert info.value.code == "unknown_template"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_template_renders_every_channel(catalog, renderer, name):
    template = catalog.get_template(name)
    if "email" in template.channels:
        rendered = email(renderer, catalog, name, display_name="Jean Demo")
        assert rendered.subject and "\n" not in rendered.subject
        assert rendered.text.startswith("Bonjour Jean Demo,\n")
        assert "Ville de Roubaix" in rendered.text and "03 20 65 46 00" in rendered.text
        assert "ne nécessite aucune réponse" in rendered.text
        assert rendered.html.startswith("<!DOCTYPE html>") and 'lang="fr"' in rendered.html
        assert "None" not in rendered.text and "None" not in rendered.html
    if "sms" in template.channels:
        message = renderer.render_sms(template, SAMPLES[name])
        assert message.text.startswith("Ville de Roubaix")
        assert "None" not in message.text and "\n" not in message.text
        # our own wording never forces UCS-2 (2.3 times the price): only
        # personalisation values may
        assert message.info.encoding == sms.GSM7, (name, message.info.non_gsm7)
        assert message.info.segments <= 3


# --- French content ------------------------------------------------------------------

def test_account_activation(catalog, renderer):
    rendered = email(renderer, catalog, "account_activation")
    assert rendered.subject == "Activez votre compte citoyen – Ville de Roubaix"
    assert "https://demarches.example.fr/activer?jeton=abc&x=1" in rendered.text
    assert "jusqu'au mercredi 25 novembre 2026 à 14 h 30" in rendered.text
    assert "pascal.dupin" in rendered.text
    assert 'href="https://demarches.example.fr/activer?jeton=abc&amp;x=1"' in rendered.html
    assert f"mercredi 25 novembre 2026 à 14{NBSP}h{NBSP}30" in rendered.html


def test_acknowledgement_after_every_operation(catalog, renderer):
    rendered = email(renderer, catalog, "demande_acknowledgement")
    assert rendered.subject == "Accusé de réception de votre demande n° 125"
    assert ("Nous avons bien reçu votre demande « Fiche enfant », enregistrée le mercredi 4 octobre 2017 "
            "à 10 h 12 sous le numéro 125.") in rendered.text
    assert "- Carnet de vaccination\n- Livret de famille\n" in rendered.text
    assert "<li>Carnet de vaccination</li>" in rendered.html


def test_decision_refusal_carries_its_reason(catalog, renderer):
    rendered = email(renderer, catalog, "demande_decision")
    assert rendered.subject == "Refus – votre demande n° 28"
    assert "a été refusée le jeudi 10 décembre 2015 à 12 h 23" in rendered.text
    assert "Motif du refus : La personne n'est pas née dans la commune" in rendered.text
    text = renderer.render_sms(catalog.get_template("demande_decision"), SAMPLES["demande_decision"]).text
    assert text == ("Ville de Roubaix : votre demande 28 (Demande d'acte de naissance) a été refusée. "
                    "Motif : La personne n'est pas née dans la commune. Détails dans votre espace citoyen.")


def test_decision_agreement_needs_no_reason(catalog, renderer):
    personalisation = {**SAMPLES["demande_decision"], "decision": "accord"}
    del personalisation["reason"]
    rendered = renderer.render_email(catalog.get_template("demande_decision"), personalisation)
    assert rendered.subject == "Réponse favorable – votre demande n° 28"
    assert "a reçu une réponse favorable le jeudi 10 décembre 2015 à 12 h 23" in rendered.text
    assert "Motif" not in rendered.text


def test_refusal_without_reason_is_refused(catalog, renderer):
    personalisation = {**SAMPLES["demande_decision"], "reason": "  "}
    with pytest.raises(MissingPersonalisation) as info:
        renderer.render_email(catalog.get_template("demande_decision"), personalisation)
    assert info.value.missing == ["reason"]


def test_reminder_uses_the_faq_wording(catalog, renderer):
    rendered = email(renderer, catalog, "reminder")
    assert rendered.subject == "Rappel : sortir vos encombrants dans la rue le mercredi 25 novembre 2026"
    assert ("Nous vous rappelons de sortir vos encombrants dans la rue le mercredi 25 novembre 2026, "
            "suite à votre demande n° 310.") in rendered.text
    elided = renderer.render_email(catalog.get_template("reminder"),
                                   {"action": "apporter vos déchets verts", "date": "2026-11-25T06:00:00Z"},
                                   unsubscribe_url="https://demarches.example.fr/d/1")
    assert "Nous vous rappelons d'apporter vos déchets verts le mercredi 25 novembre 2026 à 7 h." in elided.text
    text = renderer.render_sms(catalog.get_template("reminder"), SAMPLES["reminder"]).text
    assert text == ("Ville de Roubaix - Rappel : sortir vos encombrants dans la rue le mercredi "
                    "25 novembre 2026 (demande 310).")


def test_times_are_shown_in_the_town_time_zone(catalog):
    reminder = catalog.get_template("reminder")
    when = {"action": "apporter vos déchets verts", "date": "2026-11-25T22:30:00Z"}
    paris = factories.renderer(ROUBAIX).render_sms(reminder, when).text
    noumea = factories.renderer(ROUBAIX, zone="Pacific/Noumea").render_sms(reminder, when).text
    assert "le mercredi 25 novembre 2026 à 23 h 30" in paris
    assert "le jeudi 26 novembre 2026 à 9 h 30" in noumea


def test_payment_receipt_amount_in_french(catalog, renderer):
    rendered = email(renderer, catalog, "payment_receipt")
    assert rendered.subject == "Reçu de votre paiement de 12,50 € – facture n° 602624"
    assert "Montant payé : 12,50 €" in rendered.text
    assert "Facture n° : 602624" in rendered.text
    assert "Régie : Régie Périscolaire" in rendered.text
    assert "Date du paiement : mercredi 25 novembre 2026 à 14 h 30" in rendered.text
    assert "joint à ce courriel au format PDF" in rendered.text
    assert f"12,50{NBSP}€" in rendered.html  # no line break between amount and sign


def test_family_statement_negative_balance(catalog, renderer):
    rendered = email(renderer, catalog, "family_account_statement")
    assert rendered.subject == "Relevé de votre compte famille – mars 2018"
    assert "Solde au 30/04/2018 : -3,05 €" in rendered.text
    assert "- 06/03/2018 : Restauration scolaire - Repas de midi – débit 3,05 €" in rendered.text
    assert "pensez à recharger votre compte" in rendered.text
    positive = renderer.render_email(catalog.get_template("family_account_statement"),
                                     {**SAMPLES["family_account_statement"], "balance_cents": 2000,
                                      "operations": []}, unsubscribe_url="https://x.example.fr/u")
    assert "Aucune opération pour ce mois." in positive.text
    assert "recharger" not in positive.text


def test_reservations_grouped_by_person_and_sorted(catalog, renderer):
    rendered = email(renderer, catalog, "reservation_confirmation")
    assert ("MOULIN Eric\n- mardi 15 mai 2018 : Restauration scolaire : Repas de midi\n"
            "- mercredi 16 mai 2018 : Les mercredis kids : Matin\n") in rendered.text
    assert "MOULIN Jeanne\n- lundi 14 mai 2018" in rendered.text


def test_status_change_labels(catalog, renderer):
    rendered = email(renderer, catalog, "demande_status_changed")
    assert rendered.subject == "Votre demande n° 29 : Demande traitée"
    assert "Réponse du service : pots enlevés ce matin" in rendered.text
    assert "Avancement : étape 4 sur 4." in rendered.text


# --- branding and unsubscribe -------------------------------------------------------------

def test_html_carries_the_town_branding(catalog, renderer):
    html = email(renderer, catalog, "payment_receipt").html
    assert '<img src="https://www.ville-roubaix.fr/logo.png" alt="Ville de Roubaix"' in html
    for fragment in ("17, Grand&#39; Place", "59100 ROUBAIX Cedex 1", "03 20 65 46 00",
                     'href="mailto:contact@ville-roubaix.fr"', "Samedi matin : 9 h - 12 h"):
        assert fragment in html
    plain = factories.renderer(TownBranding(name="Mairie de Quiévrechain"))
    rendered = plain.render_email(catalog.get_template("login_reminder"), {"username": "pascal.dupin"})
    assert "<img" not in rendered.html and "Mairie de Quiévrechain</p>" in rendered.html
    assert "Tél." not in rendered.text


def test_unsubscribe_link_only_on_non_essential(catalog, renderer):
    essential = email(renderer, catalog, "payment_receipt")
    assert "desabonnement" not in essential.text and "desabonnement" not in essential.html
    optional = email(renderer, catalog, "reminder")
    assert "Pour ne plus recevoir ce type de message : https://demarches.example.fr/desabonnement/abc" in optional.text
    assert 'href="https://demarches.example.fr/desabonnement/abc"' in optional.html


# --- personalisation errors ---------------------------------------------------------------

def test_missing_personalisation_lists_every_missing_name(catalog, renderer):
    with pytest.raises(MissingPersonalisation) as info:
        renderer.render_email(catalog.get_template("payment_receipt"), {"invoice_number": "1", "regie_name": ""})
    error = info.value
    assert error.missing == ["amount_cents", "paid_at", "regie_name"]
    assert str(error) == "missing_personalisation: Personnalisation manquante : amount_cents, paid_at, regie_name"
    assert isinstance(error, PermanentFailure) and error.code == "missing_personalisation"


def test_missing_personalisation_for_sms_too(catalog, renderer):
    with pytest.raises(MissingPersonalisation) as info:
        renderer.render_sms(catalog.get_template("reminder"), {})
    assert info.value.missing == ["action", "date"]


@pytest.mark.parametrize("name, overrides, field", [
    ("payment_receipt", {"amount_cents": 12.5}, "amount_cents"),
    ("payment_receipt", {"paid_at": "hier"}, "paid_at"),
    ("demande_decision", {"decision": "peut-être"}, "decision"),
    ("account_activation", {"activation_url": "javascript:alert(1)"}, "activation_url"),
    ("demande_status_changed", {"step": 7}, "step"),
    ("reservation_confirmation", {"reservations": [{"person": "A", "activity": "B"}]}, "reservations"),
    ("demande_acknowledgement", {"missing_documents": "Livret"}, "missing_documents"),
])
def test_invalid_personalisation_names_the_field(catalog, renderer, name, overrides, field):
    with pytest.raises(InvalidPersonalisation) as info:
        renderer.render(catalog.get_template(name), "email", {**SAMPLES[name], **overrides},
                        unsubscribe_url="https://x.example.fr/u")
    assert field in info.value.errors
    assert info.value.code == "invalid_personalisation"


def test_reserved_names_cannot_be_personalised(catalog, renderer):
    with pytest.raises(InvalidPersonalisation):
        renderer.render_email(catalog.get_template("login_reminder"), {"username": "x", "town": "Lille"})


def test_undeclared_personalisation_is_ignored(catalog, renderer):
    rendered = renderer.render_email(catalog.get_template("login_reminder"),
                                     {"username": "pascal.dupin", "unused": "whatever"})
    assert "pascal.dupin" in rendered.text


# --- escaping and sandbox --------------------------------------------------------------

def test_html_part_escapes_personalisation_text_part_does_not(catalog, renderer):
    rendered = email(renderer, catalog, "town_message", display_name="<script>alert(1)</script>",
                     message_body="Ligne <b>1</b>\nLigne 2 & fin\n\nParagraphe 2")
    assert "<script>" not in rendered.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in rendered.html
    assert "Ligne &lt;b&gt;1&lt;/b&gt;<br>\nLigne 2 &amp; fin</p>" in rendered.html
    assert "Paragraphe 2</p>" in rendered.html
    assert "Bonjour <script>alert(1)</script>," in rendered.text
    assert "Ligne <b>1</b>\nLigne 2 & fin\n\nParagraphe 2" in rendered.text


def _custom(sources, required=("x",)):
    return template_from_meta({"name": "essai", "version": 1, "description": "test", "channels": ["sms"],
                               "essential": True, "personalisation": {"required": list(required)}}, sources)


def test_sandbox_blocks_unsafe_attribute_access(renderer):
    template = _custom({"sms": "{{ x.__class__.__mro__[1].__subclasses__() }}"})
    with pytest.raises(TemplateRenderError) as info:
        renderer.render_sms(template, {"x": "a"})
    assert info.value.code == "template_error"


def test_undefined_names_are_errors_not_blanks(renderer):
    template = _custom({"sms": "{{ town.nom_inexistant }} {{ x }}"})
    with pytest.raises(TemplateRenderError):
        renderer.render_sms(template, {"x": "a"})


def test_template_definitions_are_checked():
    with pytest.raises(TemplateDefinitionError, match="undeclared personalisation y"):
        _custom({"sms": "{{ x }} {{ y }}"})
    with pytest.raises(TemplateDefinitionError, match="missing sms.txt.j2"):
        _custom({})
    with pytest.raises(TemplateDefinitionError, match="line 1"):
        _custom({"sms": "{% if x %}"})
    with pytest.raises(TemplateDefinitionError, match="security template"):
        template_from_meta({"name": "essai", "version": 1, "description": "d", "channels": ["sms"],
                            "essential": True, "security": True}, {"sms": "a"})


# --- SMS specifics ---------------------------------------------------------------------

def test_sms_transliteration_setting(catalog):
    template = catalog.get_template("information_message")
    personalisation = {"message": "Fête de l’école : garçons et filles, rendez-vous à 9 h\u00a0!"}
    strict = factories.renderer(ROUBAIX).render_sms(template, personalisation)
    assert strict.info.encoding == sms.UCS2 and strict.info.non_gsm7 == ("ê", "ç")
    assert "l'école" in strict.text and "9 h !" in strict.text  # typographic characters always normalised
    loose = factories.renderer(ROUBAIX, sms_transliterate=True).render_sms(template, personalisation)
    assert loose.info.encoding == sms.GSM7
    assert "Fete de l'école : garcons et filles" in loose.text


def test_sms_too_long_is_a_permanent_failure(catalog):
    renderer = factories.renderer(ROUBAIX, sms_max_segments=2)
    with pytest.raises(TemplateError) as info:
        renderer.render_sms(catalog.get_template("information_message"), {"message": "blabla " * 60})
    assert info.value.code == "message_too_long"


def test_email_only_template_has_no_sms(catalog, renderer):
    with pytest.raises(TemplateError) as info:
        renderer.render_sms(catalog.get_template("payment_receipt"), SAMPLES["payment_receipt"])
    assert info.value.code == "channel_not_in_template"


def test_town_branding_validation():
    with pytest.raises(ValueError):
        TownBranding(name="")
    with pytest.raises(ValueError):
        TownBranding(name="Ville", logo_url="javascript:alert(1)")
    branding = TownBranding.from_mapping({"name": "Ville de Romans-sur-Isère",
                                          "opening_hours": "Lundi : 8h30/12h\nJeudi : 9h/12h\n"})
    assert branding.opening_hours == ("Lundi : 8h30/12h", "Jeudi : 9h/12h")
    with pytest.raises(ValueError, match="unknown"):
        TownBranding.from_mapping({"name": "X", "fax": "04 75 05 55 27"})
