"""Every custom search attribute of the product, declared once.

The workflows upsert them, the stack registers them with the dev server, and operators filter
on them in the Temporal UI. They carry no personal data: never a name, e-mail, phone or CVR.
"""

from temporalio.common import SearchAttributeKey

CASE_TYPE = SearchAttributeKey.for_keyword("CaseType")
DEPARTMENTS = SearchAttributeKey.for_keyword_list("Departments")
CASE_STATUS = SearchAttributeKey.for_keyword("CaseStatus")
CONTACT_DEADLINE = SearchAttributeKey.for_datetime("ContactDeadline")
CONTACT_BREACHED = SearchAttributeKey.for_bool("ContactBreached")
# issue 4: the agreed decision date, and lateness of a department's review (set on the case
# and on the late review's own workflow)
AGREED_DATE = SearchAttributeKey.for_datetime("AgreedDate")
REVIEW_LATE = SearchAttributeKey.for_bool("ReviewLate")
# issue 7: something an operator must look at (a review that failed, a record Postgres
# refused, a letter refused for good), and how many letters wait for the mail server
# (an Int: the dev server's SQLite store allows only three Bool attributes)
NEEDS_ATTENTION = SearchAttributeKey.for_bool("NeedsAttention")
LETTERS_PENDING = SearchAttributeKey.for_int("LettersPending")

ALL = (
    CASE_TYPE,
    DEPARTMENTS,
    CASE_STATUS,
    CONTACT_DEADLINE,
    CONTACT_BREACHED,
    AGREED_DATE,
    REVIEW_LATE,
    NEEDS_ATTENTION,
    LETTERS_PENDING,
)

# The name the `temporal` CLI uses for each indexed value type.
CLI_TYPE_NAMES = {
    "KEYWORD": "Keyword",
    "KEYWORD_LIST": "KeywordList",
    "DATETIME": "Datetime",
    "BOOL": "Bool",
    "INT": "Int",
    "TEXT": "Text",
    "FLOAT": "Double",
}


def cli_type(key: SearchAttributeKey) -> str:
    """The type name `temporal operator search-attribute create --type` expects for *key*."""
    return CLI_TYPE_NAMES[key.indexed_value_type.name.removeprefix("INDEXED_VALUE_TYPE_")]
