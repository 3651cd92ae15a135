"""The staff desk's Danish words, in one place: phases, what each action is called, the
confirmation after it, why the case refused it (by `CaseError.kind`), and why a role may not.

The rules themselves live elsewhere (roles: web/api/officers.py; the case's own rules: the
workflow); this module only says them in Danish.
"""

from __future__ import annotations

from domain.texts import CASE_TYPE_NAMES, DEPARTMENT_NAMES, OUTCOME_NAMES
from schemas.case import CaseStatus
from schemas.intake import CaseType, Department
from schemas.life import ReviewOutcome

STATUS_NAMES = {
    CaseStatus.awaiting_caseworker: "Venter på procesansvarlig sagsbehandler",
    CaseStatus.contact_overdue: "Kontaktfristen er overskredet",
    CaseStatus.caseworker_assigned: "Procesansvarlig sagsbehandler er udpeget",
    CaseStatus.awaiting_material: "Venter på materiale fra virksomheden",
    CaseStatus.in_review: "Til faglig vurdering",
    CaseStatus.awaiting_decision: "Klar til afgørelse",
    CaseStatus.closed: "Lukket",
}

CONTACT = ("contact_breached", "contact_due")  # the worklist's reasons about first contact
# What is due for a worklist line, by its reason (domain/worklist.py's keys).
DUE_WHAT = {
    "contact_breached": "Kontakt til virksomheden",
    "contact_due": "Kontakt til virksomheden",
    "review_late": "Faglig vurdering",
    "decision_due": "Afgørelse",
    "in_progress": "Aftalt afgørelsesdato",
}

# The confirmation banner after an action (the page's ?udfoert=<key>).
DONE = {
    "take": "Sagen er din nu. Virksomheden får besked om, hvem der er procesansvarlig.",
    "handover": "Sagen er overdraget. Virksomheden får besked om den nye sagsbehandler.",
    "book": "Forhåndsdialogen er booket. Begge parter får en bekræftelse.",
    "cancel": "Forhåndsdialogen er aflyst. Begge parter får besked.",
    "held": "Det er registreret, at forhåndsdialogen er holdt.",
    "review": "Den faglige vurdering er afgivet.",
    "more_time": "Der er bedt om mere tid. Virksomheden får besked, hvis datoen flytter.",
    "restart": "Den faglige vurdering er startet igen.",
    "decision": "Afgørelsen er sendt.",
    "dismiss": "Sagen er afvist, og virksomheden har fået besked.",
}

# The case's refusals, by kind (the workflow's ApplicationError types, case_api's kinds).
REJECTED = {
    "AlreadyAssigned": "Sagen har allerede en procesansvarlig sagsbehandler. Se hvem herunder.",
    "NotCurrentCaseworker": (
        "Sagen er allerede overdraget af en anden. Se den nuværende sagsbehandler herunder."
    ),
    "NothingToReplace": "Sagen har ingen sagsbehandler at overdrage fra. Tag sagen i stedet.",
    "UnknownCaseworker": "Der er ingen aktiv sagsbehandler med de initialer.",
    "InvalidCaseworker": "Der er ingen aktiv sagsbehandler med de initialer.",
    "AlreadyDecided": "Afgørelsen er allerede truffet.",
    "Closing": "Sagen er ved at blive lukket, så der kan ikke gøres mere på den.",
    "NotAllowedInPhase": "Det kan ikke lade sig gøre i sagens nuværende fase. Se fasen herunder.",
    "ReviewAlreadySubmitted": "Den faglige vurdering er allerede afgivet.",
    "ReviewNotRunning": "Der er ingen åben faglig vurdering for fagområdet lige nu.",
    "ReviewNotFailed": "Den faglige vurdering er ikke fejlet eller stoppet, så den kører stadig.",
    "NotWarned": "Virksomheden skal have en advarsel, før sagen kan afvises.",
    "NotBooked": "Der er ingen booket forhåndsdialog at aflyse eller registrere.",
    "NoPreDialogue": "Der er ingen forhåndsdialog på sagen.",
    "NoCaseworker": "Sagen skal have en procesansvarlig sagsbehandler først.",
    "InvalidTime": "Tidspunktet kan ikke bruges. Vælg et tidspunkt i fremtiden.",
    "InvalidInput": "Oplysningerne kunne ikke bruges. Tjek felterne, og prøv igen.",
    "UnknownDepartment": "Sagen involverer ikke det fagområde.",
}
REJECTED_OTHER = (
    "Sagen tog ikke imod handlingen lige nu. Sagens aktuelle tilstand er vist herunder; "
    "prøv igen, når den tillader det."
)

# Refusals by role (403), per action.
NOT_YOUR_ROLE = {
    "handover": "Kun sagens procesansvarlige sagsbehandler eller en driftsansvarlig kan overdrage "
    "sagen.",
    "coordinator": "Kun sagens procesansvarlige sagsbehandler kan gøre det.",
    "review": "Kun en sagsbehandler fra fagområdet {department} kan afgive fagområdets vurdering.",
    "more_time": "Kun en sagsbehandler fra fagområdet {department} eller sagens procesansvarlige "
    "sagsbehandler kan bede om mere tid.",
    "restart": "Kun sagens procesansvarlige sagsbehandler eller en driftsansvarlig kan starte en "
    "vurdering igen.",
}

OUTCOME_LABELS = {
    ReviewOutcome.approved: "Godkendt",
    ReviewOutcome.approved_with_conditions: "Godkendt med vilkår",
    ReviewOutcome.refused: "Afslag",
}

TOPIC_LABELS = {"general": "Forhåndsdialog", "sustainability": "Forhåndsdialog om bæredygtighed"}


def first_upper(text: str) -> str:
    return text[:1].upper() + text[1:]


def department_name(value: str) -> str:
    """'Byggeri', 'Miljø', 'Brand/beredskab' (an unknown value is shown as it is)."""
    try:
        return first_upper(DEPARTMENT_NAMES[Department(value)])
    except ValueError:
        return value


def case_type_name(value: str) -> str:
    try:
        return first_upper(CASE_TYPE_NAMES[CaseType(value)])
    except ValueError:
        return value


def status_name(value: str) -> str:
    try:
        return STATUS_NAMES[CaseStatus(value)]
    except ValueError:
        return value


def outcome_name(value: str) -> str:
    try:
        return OUTCOME_NAMES[ReviewOutcome(value)]
    except ValueError:
        return value


def rejection(kind: str | None) -> str:
    """Why the case refused an action, in Danish (one place for every kind)."""
    return REJECTED.get(kind or "", REJECTED_OTHER)


# The audit trail's kinds (case_api.case_events), as the case page names them.
EVENT_NAMES = {
    "case_received": "Sagen er modtaget",
    "status_changed": "Fasen er skiftet",
    "caseworker_assigned": "Procesansvarlig sagsbehandler udpeget",
    "caseworker_reassigned": "Sagen er overdraget",
    "company_contacted": "Virksomheden er kontaktet",
    "contact_reminder_sent": "Påmindelse om kontaktfristen sendt",
    "contact_deadline_breached": "Kontaktfristen er overskredet",
    "material_received": "Materiale modtaget",
    "case_complete": "Sagen er fuldt oplyst",
    "agreed_date_set": "Aftalt afgørelsesdato fastsat",
    "agreed_date_moved": "Aftalt afgørelsesdato flyttet",
    "pre_dialogue_requested": "Forhåndsdialog ønsket",
    "pre_dialogue_booked": "Forhåndsdialog booket",
    "pre_dialogue_cancelled": "Forhåndsdialog aflyst",
    "pre_dialogue_held": "Forhåndsdialog holdt",
    "sustainability_level_changed": "Bæredygtighedsniveau ændret",
    "nbe_offer_answered": "Svar på tilbud om NBE",
    "project_changed": "Projektet er ændret",
    "review_started": "Faglig vurdering startet",
    "review_submitted": "Faglig vurdering afgivet",
    "review_late": "Faglig vurdering forsinket",
    "review_reopened": "Faglig vurdering genåbnet",
    "review_failed": "Faglig vurdering fejlet eller stoppet",
    "review_restarted": "Faglig vurdering startet igen",
    "more_time_granted": "Mere tid givet til en vurdering",
    "reviews_complete": "Alle faglige vurderinger er inde",
    "decision_issued": "Afgørelsen er truffet",
    "dismissal_warning_sent": "Varsel om afvisning sendt",
    "case_closed": "Sagen er lukket",
    "letter_sent": "Brev sendt",
    "letter_pending": "Brev venter på mailserveren",
    "letter_failed": "Brev kunne ikke sendes",
    "roster_refreshed": "Listen over sagsbehandlere er opdateret",
    "survey_sent": "Tilfredshedsmåling sendt",
    "survey_not_sent": "Tilfredshedsmåling ikke sendt",
}
