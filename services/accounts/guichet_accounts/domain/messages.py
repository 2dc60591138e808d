"""Every French user-facing message of the accounts domain, in one place.

The seed manuals in ``shared/seeds/`` are the specification. A message that a
seed quotes is reproduced verbatim and carries a ``# seed:`` comment naming the
file it comes from:

- ``000`` = 000_e084329cd4830819.txt  (Roubaix, portail de services en ligne)
- ``001`` = 001_8d370d5030f15c10.txt  (Romans-sur-Isère, Espace Citoyens)
- ``002`` = 002_f94f733b355aef03.txt  (Saint-Joseph, portail citoyen)
- ``003`` = 003_f95323cbe5982f48.txt  (« Mon Compte Citoyen », FAQ)
- ``004`` = 004_c41a78006883e128.txt  (Quiévrechain, manuel utilisateur)

Messages marked ``# composed`` are not quoted by any seed; they are written in
the seeds' register (vouvoiement, « identifiant », « courriel ») and, where
possible, built from the seeds' own sentences.
"""
from __future__ import annotations

# The words of the forms the gateway documents too are the accounts API contract's (worded once there).
from guichet_contracts.api.accounts import (
    ACCOUNT_TYPE_INVALID as ACCOUNT_TYPE_INVALID,
)
from guichet_contracts.api.accounts import (
    ACCOUNT_TYPES as ACCOUNT_TYPES,
)
from guichet_contracts.api.accounts import (
    CGU_REQUIRED as CGU_REQUIRED,
)
from guichet_contracts.api.accounts import (
    CIVILITIES as CIVILITIES,
)
from guichet_contracts.api.accounts import (
    CIVILITY_INVALID as CIVILITY_INVALID,
)
from guichet_contracts.api.accounts import (
    COMMUNICATION_INVALID as COMMUNICATION_INVALID,
)
from guichet_contracts.api.accounts import (
    COMMUNICATION_MODES as COMMUNICATION_MODES,
)
from guichet_contracts.api.accounts import (
    EMAIL_NEEDED_NOTICE as EMAIL_NEEDED_NOTICE,
)
from guichet_contracts.api.accounts import (
    SECURITY_QUESTION_UNKNOWN as SECURITY_QUESTION_UNKNOWN,
)
from guichet_contracts.api.accounts import (
    SECURITY_QUESTIONS as SECURITY_QUESTIONS,
)

# The generic field messages are the French field kit's (guichet_contracts), the same words everywhere.
from guichet_contracts.french_messages import (
    DATE_INVALID as DATE_INVALID,
)
from guichet_contracts.french_messages import (
    EMAIL_INVALID as EMAIL_INVALID,
)
from guichet_contracts.french_messages import (
    FIELD_INVALID as FIELD_INVALID,
)
from guichet_contracts.french_messages import (
    FIELD_NOT_BOOLEAN as FIELD_NOT_BOOLEAN,
)
from guichet_contracts.french_messages import (
    FIELD_NOT_OBJECT as FIELD_NOT_OBJECT,
)
from guichet_contracts.french_messages import (
    FIELD_NOT_TEXT as FIELD_NOT_TEXT,
)
from guichet_contracts.french_messages import (
    FIELD_NULL as FIELD_NULL,
)
from guichet_contracts.french_messages import (
    FIELD_REQUIRED as FIELD_REQUIRED,
)
from guichet_contracts.french_messages import (
    FIELD_TOO_LONG as FIELD_TOO_LONG,
)
from guichet_contracts.french_messages import (
    FIELD_UNKNOWN as FIELD_UNKNOWN,
)
from guichet_contracts.french_messages import (
    INPUT_NOT_OBJECT as INPUT_NOT_OBJECT,
)
from guichet_contracts.french_messages import (
    MOBILE_INVALID as MOBILE_INVALID,
)
from guichet_contracts.french_messages import (
    NAME_INVALID as NAME_INVALID,
)
from guichet_contracts.french_messages import (
    PHONE_INVALID as PHONE_INVALID,
)
from guichet_contracts.french_messages import (
    RNA_INVALID as RNA_INVALID,
)
from guichet_contracts.french_messages import (
    SIRET_CHECKSUM as SIRET_CHECKSUM,
)
from guichet_contracts.french_messages import (
    SIRET_INVALID as SIRET_INVALID,
)

# --------------------------------------------------------------------------
# Password policy
# --------------------------------------------------------------------------

# seed: 004 (§2.1 « Activation du compte »). The seed text is a Markdown
# export that escapes the dollar sign as "\$"; the sentence itself reads "$".
PASSWORD_POLICY = (
    "Le mot de passe doit contenir au minimum 8 caractères avec un caractère majuscule, "
    "un caractère minuscule et un chiffre. Les caractères accentués ne sont pas acceptés. "
    "Les symboles suivants sont acceptés ! + @ # $ % ^ & * ()"
)
# seed: 004 — the invitation that wraps the policy on the activation page.
PASSWORD_CREATE_PROMPT = f"Veuillez créer votre mot de passe ({PASSWORD_POLICY}) :"
# seed: 002 — Saint-Joseph's hint next to « Choisir un mot de passe * ».
PASSWORD_HINT_SAINT_JOSEPH = "(Au moins huit caractères)"

# One message per unmet rule, each cut from the seed 004 policy sentence.
PASSWORD_TOO_SHORT = "Le mot de passe doit contenir au minimum 8 caractères."  # seed: 004 (fragment)
PASSWORD_NEEDS_UPPER = "Le mot de passe doit contenir un caractère majuscule."  # seed: 004 (fragment)
PASSWORD_NEEDS_LOWER = "Le mot de passe doit contenir un caractère minuscule."  # seed: 004 (fragment)
PASSWORD_NEEDS_DIGIT = "Le mot de passe doit contenir un chiffre."  # seed: 004 (fragment)
PASSWORD_NO_ACCENTS = "Les caractères accentués ne sont pas acceptés."  # seed: 004 (verbatim sentence)
PASSWORD_SYMBOLS_ACCEPTED = "Les symboles suivants sont acceptés ! + @ # $ % ^ & * ()"  # seed: 004 (verbatim sentence)
PASSWORD_FORBIDDEN_CHARACTER = (  # composed + seed: 004 sentence
    "Le mot de passe contient un caractère non accepté. " + PASSWORD_SYMBOLS_ACCEPTED
)
PASSWORD_TOO_LONG = "Le mot de passe ne doit pas dépasser {max} caractères."  # composed
PASSWORD_TOO_COMMON = "Ce mot de passe est trop courant : veuillez en choisir un autre."  # composed
PASSWORD_CONTAINS_LOGIN = "Le mot de passe ne doit pas contenir votre identifiant."  # composed
PASSWORD_CONTAINS_EMAIL = "Le mot de passe ne doit pas contenir votre adresse courriel."  # composed
PASSWORD_CONFIRMATION_MISMATCH = "Les deux mots de passe saisis ne sont pas identiques."  # composed
PASSWORD_REPEAT_LABEL = "Répéter votre mot de passe"  # seed: 004 (field label)
PASSWORD_CURRENT_WRONG = "Le mot de passe actuel est incorrect."  # composed

# --------------------------------------------------------------------------
# Login (identifiant)
# --------------------------------------------------------------------------

# seed: 004 (§2.1) — shown above the proposed login on the activation page.
LOGIN_DEFAULT_NOTICE = (
    "Un identifiant vous a été attribué par défaut (prénom.nom), "
    "vous pouvez le modifier si vous le souhaitez"
)
LOGIN_LABEL = "Votre identifiant de connexion"  # seed: 004 (field label)
LOGIN_TOO_SHORT = "L'identifiant doit contenir au minimum {min} caractères."  # composed
LOGIN_TOO_LONG = "L'identifiant ne doit pas dépasser {max} caractères."  # composed
LOGIN_FORBIDDEN_CHARACTERS = (  # composed
    "L'identifiant ne peut contenir que des lettres minuscules non accentuées, "
    "des chiffres, des points, des tirets et des tirets bas."
)
LOGIN_BAD_EDGES = "L'identifiant doit commencer et se terminer par une lettre ou un chiffre."  # composed
LOGIN_CONSECUTIVE_SEPARATORS = "L'identifiant ne doit pas contenir deux séparateurs à la suite."  # composed
LOGIN_TAKEN = "Cet identifiant est déjà utilisé : veuillez en choisir un autre."  # composed

# --------------------------------------------------------------------------
# Login, logout, lock-out, last login
# --------------------------------------------------------------------------

LOGIN_FAILED = "Identifiant ou mot de passe incorrect."  # composed (same for unknown accounts)
LOGIN_THROTTLED = (  # composed (same for unknown accounts)
    "Trop de tentatives de connexion infructueuses. "
    "Veuillez réessayer dans {minutes} minute(s)."
)
LOGIN_SLOWED = (  # composed (same for unknown accounts): the growing delay before any lock-out
    "Trop de tentatives de connexion infructueuses. "
    "Veuillez patienter {seconds} seconde(s) avant de réessayer."
)
# seed: 001 — « Dernière connexion le 10/07/2017 à 16:13 » (Romans, Espace Citoyens).
LAST_LOGIN = "Dernière connexion le {date} à {time}"
TOTP_REQUIRED = "Veuillez saisir le code à usage unique de votre application d'authentification."  # composed
TOTP_INVALID = "Le code à usage unique est incorrect ou a expiré."  # composed

# --------------------------------------------------------------------------
# Forgotten login / password (answers identical whether the account exists)
# --------------------------------------------------------------------------

FORGOTTEN_WHAT = "Qu'avez-vous perdu ?"  # seed: 004
FORGOTTEN_MY_LOGIN = "Mon identifiant"  # seed: 004
FORGOTTEN_MY_PASSWORD = "Mon mot de passe"  # seed: 004
FORGOTTEN_LOGIN_SENT = "Votre nom d'utilisateur vous sera transmis par courriel."  # seed: 004 (§2.3.1)
FORGOTTEN_PASSWORD_SENT = (  # seed: 004 (§2.3.2)
    "Un courriel vous sera envoyé afin de vous permettre de réinitialiser votre mot de passe."
)
# seed: 002 — password recovery is inoperative until a provisioned account has an email.
RECOVERY_NEEDS_EMAIL = (
    "Attention : cette fonctionnalité est inopérante tant que vous n'avez pas renseigné "
    "votre adresse email (cas des comptes créés automatiquement pour le paiement de la "
    "restauration scolaire)"
)
SECURITY_ANSWER_WRONG = "La réponse à la question de sécurité est incorrecte."  # composed
# Told at login, since « mot de passe oublié » answers an account without email as it answers an unknown login.
LOGIN_RECOVERY_NEEDS_EMAIL = (  # composed from seed 002 (RECOVERY_NEEDS_EMAIL)
    "Attention : tant que vous n'avez pas renseigné votre adresse email, la fonction « Mot de passe oublié » "
    "ne peut pas vous envoyer de lien. En cas d'oubli de votre mot de passe, contactez la mairie."
)

# --------------------------------------------------------------------------
# City-provisioned accounts (Saint-Joseph)
# --------------------------------------------------------------------------

# seed: 002 — shown at first login of an account created by the town.
PROVISIONED_EMAIL_MISSING = (
    "Votre email est invalide ou manquant. Veuillez renseigner votre email en cliquant "
    "sur le lien suivant : Renseignez votre email"
)
# seed: 002
PROVISIONED_FIRST_LOGIN_WARNING = (
    "Attention : la première fois que vous vous connecterez avec ce compte il vous faudra "
    "obligatoirement renseigner une adresse email valide, faute de quoi, vous ne pourrez "
    "pas accéder au paiement en ligne."
)
# The initial password the town printed is provisional (issue 11).
INITIAL_PASSWORD_NOTICE = (  # composed
    "Le mot de passe qui vous a été communiqué par la mairie est provisoire : choisissez votre propre "
    "mot de passe dès maintenant. Il ne sera plus accepté après le {date}."
)
PASSWORD_CHANGE_REQUIRED = (  # composed
    "Choisissez d'abord votre propre mot de passe : celui qui vous a été communiqué par la mairie est provisoire."
)
INITIAL_PASSWORD_EXPIRED = (  # composed
    "Le mot de passe provisoire qui vous a été communiqué par la mairie a expiré. Contactez la mairie pour en "
    "obtenir un nouveau, ou utilisez « Mot de passe oublié » si vous avez renseigné votre adresse email."
)
# The CSV file of families an agent imports.
CSV_DELIMITER_UNKNOWN = (  # composed
    "Le séparateur des colonnes n'a pas pu être reconnu : le fichier doit être un CSV dont les colonnes sont "
    "séparées par « ; » ou « , », avec une ligne d'en-tête."
)
CSV_UNREADABLE = "Le fichier CSV est illisible : vérifiez qu'il s'agit bien d'un fichier texte CSV."  # composed
# seed: 002
PROVISIONED_EMAIL_IMPERATIVE = (
    "Attention : Il est impératif que vous complétiez cette information. En effet, une fois "
    "le paiement terminé vous recevrez votre reçu de paiement par Email."
)
# seed: 002
PROVISIONED_NO_NEW_ACCOUNT = (
    "Attention : si vos identifiants vous ont été communiqués sur votre facture de "
    "restauration scolaire vous n'avez pas à créer un nouveau compte"
)

# --------------------------------------------------------------------------
# Account validation by the town (« Mon Compte Citoyen » FAQ)
# --------------------------------------------------------------------------

# seed: 003 — the sentence that states the rule, reused verbatim in the refusal.
ACCOUNT_NOT_VALIDATED_RULE = (
    "En revanche vous ne pourrez faire aucune modification de votre compte tant que "
    "celui-ci ne sera pas validé."
)
ACCOUNT_NOT_VALIDATED = (  # composed + seed: 003 sentence
    "Votre compte n'est pas encore validé par le service habilité au sein de la Mairie. "
    + ACCOUNT_NOT_VALIDATED_RULE
)

# --------------------------------------------------------------------------
# Registration form
# --------------------------------------------------------------------------

REQUIRED_FIELDS_NOTICE = "Tous les champs suffixés d'une * sont obligatoires"  # seed: 002

# Field labels as the seeds print them (used by clients and in error texts).
FIELD_LABELS = {
    "civility": "Civilité",  # seed: 002, 004
    "birth_name": "Nom de naissance",  # seed: 004
    "usage_name": "Nom d'usage",  # seed: 004
    "first_name": "Prénom",  # seed: 004
    "second_first_name": "2nd prénom",  # seed: 004
    "third_first_name": "3eme prénom",  # seed: 004
    "birth_date": "Date de naissance",  # seed: 004
    "birth_country": "Pays de naissance",  # seed: 004
    "birth_commune": "Commune de naissance",  # seed: 004
    "birth_department": "Département de naissance",  # seed: 004
    "email": "Email",  # seed: 004 (« Courriel » in 002)
    "phones": "Téléphones",  # seed: 002
    "phones.personal": "Téléphone personnel",  # seed: 002
    "phones.mobile": "Téléphone portable",  # seed: 002
    "phones.office": "Téléphone bureau",  # seed: 002
    "address": "Adresse",  # seed: 002
    "address.apartment": "N° App - Etage - Couloir - Esc",  # seed: 002
    "address.building": "Entrée - Batiment - Résidence",  # seed: 002
    "address.street_number": "Numéro de voie",  # seed: 002 (first half of « Numéro de voie - Libellé de la voie »)
    "address.street_name": "Libellé de la voie",  # seed: 002 (second half)
    "address.lieu_dit": "Lieu Dit ou Service",  # seed: 002
    "address.postal_code": "Code Postal",  # seed: 002
    "address.locality": "Localité",  # seed: 002
    "address.country": "Pays",  # seed: 002
    "account_type": "Type de compte",  # composed
    "siret": "Numéro SIRET",  # composed
    "rna": "Numéro RNA",  # composed
    "organisation_name": "Raison sociale ou nom de l'association",  # composed
    "communication_preference": "Mode de communication",  # composed from seed 003
    "cgu_accepted": "J'accepte les conditions générales d'utilisation du service",  # seed: 004 (checkbox label)
    "security_question": "Question",  # seed: 002
    "security_answer": "Réponse",  # seed: 002
    "captcha_answer": "Recopiez les caractères de l'image",  # seed: 004
}


# Generic field errors (marshmallow's English defaults replaced).

THIRD_NAME_WITHOUT_SECOND = "Renseignez le 2nd prénom avant le 3eme prénom."  # composed

BIRTH_DATE_IN_FUTURE = "La date de naissance ne peut pas être dans le futur."  # composed
BIRTH_DATE_TOO_OLD = "La date de naissance n'est pas plausible."  # composed
BIRTH_DEPARTMENT_INVALID = (  # composed
    "Numéro de département invalide (ex. : 69, 2A, 974)."
)

# seed: 002 shows the example « Courriel * (jacques.dupond@test.fr) ».

# seed: 002 — « Téléphones * (au moins un numéro de téléphone est obligatoire) ».
PHONES_AT_LEAST_ONE = "Téléphones : au moins un numéro de téléphone est obligatoire"
# seed: 002 examples « (ex. : 0102030405) » and « (ex. : 0606060605) ».
PHONE_KIND_REQUIRED = "{label} : ce champ est obligatoire."  # composed
SMS_NEEDS_MOBILE = "Pour recevoir des SMS, renseignez un numéro de téléphone portable."  # composed
PHONE_PREFERENCE_NEEDS_PHONE = "Pour être contacté par téléphone, renseignez au moins un numéro de téléphone."  # composed

POSTAL_CODE_INVALID = "Le code postal doit contenir 5 chiffres."  # composed
STREET_OR_LIEU_DIT_REQUIRED = (  # composed from the seed 002 labels
    "Renseignez le numéro et le libellé de la voie, ou le lieu-dit."
)

SIRET_REQUIRED = "Le numéro SIRET est obligatoire pour un compte professionnel."  # composed
SIRET_ONLY_PRO = "Le numéro SIRET ne concerne que les comptes professionnels et les associations."  # composed
RNA_REQUIRED = "Le numéro RNA est obligatoire pour un compte association."  # composed
RNA_ONLY_ASSOCIATION = "Le numéro RNA ne concerne que les comptes association."  # composed



# seed: 002 — Saint-Joseph's explanation next to the security question.
SECURITY_QUESTION_NOTICE = (
    "Vous devez choisir une question dans la liste déroulante et fournir la réponse qui lui "
    "correspond. Ces informations seront utilisées pour confirmer votre identité en cas "
    "d'oubli de votre mot de passe."
)
# seed: 002 — first sentence of SECURITY_QUESTION_NOTICE, used as the error.
SECURITY_QUESTION_REQUIRED = (
    "Vous devez choisir une question dans la liste déroulante et fournir la réponse qui lui correspond."
)
SECURITY_QUESTION_OFF = "Cette commune n'utilise pas de question de sécurité."  # composed
SECURITY_ANSWER_TOO_SHORT = "La réponse doit contenir au minimum {min} caractères."  # composed


# seed: 004 — captcha field label; seed 002 says « Saisir le texte de l'image ».
CAPTCHA_LABEL = "Recopiez les caractères de l'image"
CAPTCHA_LABEL_SAINT_JOSEPH = "Saisir le texte de l'image"  # seed: 002
CAPTCHA_REFRESH_HINT = "Cliquer sur l'image pour la rendre plus lisible et/ou pour la renouveler."  # seed: 004
CAPTCHA_REQUIRED = CAPTCHA_LABEL  # seed: 004 (the label is the instruction)
CAPTCHA_WRONG = "Les caractères saisis ne correspondent pas à l'image."  # composed
# The audio alternative for people who cannot read the image (no seed has one).
CAPTCHA_AUDIO_LABEL = "Écouter les caractères de l'image (épelés en français)"  # composed
CAPTCHA_GONE = ("Ce cryptogramme n'est plus valable : il a déjà été utilisé ou il a expiré. "
                "Demandez-en un nouveau.")  # composed (« cryptogramme »: seed 003)

# --------------------------------------------------------------------------
# Tokens and sessions
# --------------------------------------------------------------------------

SESSION_EXPIRED = "Votre session a expiré. Veuillez vous reconnecter."  # composed (same text as the gateway)
SESSION_REVOKED = "Cette session a été fermée. Veuillez vous reconnecter."  # composed
