"""The org's objects and fields, and the describe documents built from them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from syncledger.emulator.salesforce.ids import KEY_PREFIXES

TEXT_TYPES = frozenset({"string", "email", "phone", "url", "textarea", "picklist",
                        "multipicklist", "combobox"})
ID_TYPES = frozenset({"id", "reference"})
NUMBER_TYPES = frozenset({"double", "currency", "int", "percent"})

TASK_SUBTYPES = ("Task", "Email", "Call", "LinkedIn", "ListEmail", "Cadence")
INTERESTS = ("Product", "Pricing", "Integrations", "Security", "Training", "Partnership")
LEAD_SOURCES = ("Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other")
INDUSTRIES = ("Agriculture", "Banking", "Consulting", "Education", "Energy", "Finance",
              "Healthcare", "Media", "Retail", "Technology", "Other")
EXTERNAL_KEY = "Syncledger_Key__c"


@dataclass(frozen=True)
class Field:
    name: str
    type: str
    label: str = ""
    length: int = 0
    required: bool = False          # must be present on create (and never set to null)
    createable: bool = True
    updateable: bool = True
    nillable: bool = True
    external_id: bool = False
    unique: bool = False
    custom: bool = False
    picklist: tuple[str, ...] | None = None
    restricted: bool = False
    reference_to: tuple[str, ...] = ()
    relationship_name: str | None = None
    default: Any = None

    @property
    def soap_type(self) -> str:
        return {"id": "tns:ID", "reference": "tns:ID", "boolean": "xsd:boolean",
                "datetime": "xsd:dateTime", "date": "xsd:date", "double": "xsd:double",
                "currency": "xsd:double", "int": "xsd:int"}.get(self.type, "xsd:string")

    def describe(self, picklist_values: tuple[str, ...] | None,
                 default_value: str | None) -> dict[str, Any]:
        values = picklist_values if picklist_values is not None else self.picklist
        return {
            "name": self.name,
            "label": self.label or self.name,
            "type": self.type,
            "soapType": self.soap_type,
            "length": self.length,
            "byteLength": self.length * 3,
            "precision": 18 if self.type in ("double", "currency") else 0,
            "scale": 2 if self.type == "currency" else 0,
            "digits": 9 if self.type == "int" else 0,
            "createable": self.createable,
            "updateable": self.updateable,
            "nillable": self.nillable,
            "externalId": self.external_id,
            "unique": self.unique,
            "custom": self.custom,
            "caseSensitive": self.type in ID_TYPES,
            "idLookup": self.name == "Id" or self.external_id or self.type == "email",
            "filterable": True,
            "sortable": self.type not in ("textarea", "multipicklist"),
            "calculated": False,
            "defaultedOnCreate": self.default is not None or self.type == "boolean",
            "restrictedPicklist": self.restricted,
            "picklistValues": [
                {"active": True, "defaultValue": value == default_value, "label": value,
                 "value": value, "validFor": None}
                for value in (values or ())
            ],
            "referenceTo": list(self.reference_to),
            "relationshipName": self.relationship_name,
        }


@dataclass
class SObject:
    name: str
    label: str
    label_plural: str
    fields: dict[str, Field]
    createable: bool = True
    updateable: bool = True
    deletable: bool = True
    # lower-cased field name -> canonical name, since SOQL and JSON bodies ignore case
    by_lower: dict[str, str] = field(default_factory=dict)
    relationships: dict[str, Field] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.by_lower = {name.lower(): name for name in self.fields}
        self.relationships = {f.relationship_name.lower(): f for f in self.fields.values()
                              if f.relationship_name}

    @property
    def key_prefix(self) -> str:
        return KEY_PREFIXES[self.name]

    def field(self, name: str) -> Field | None:
        canonical = self.by_lower.get(name.lower())
        return self.fields[canonical] if canonical else None


def _ref(name: str, to: tuple[str, ...], rel: str, **kw: Any) -> Field:
    return Field(name, "reference", length=18, reference_to=to, relationship_name=rel, **kw)


def _system(owner: bool = True) -> list[Field]:
    readonly: dict[str, Any] = {"createable": False, "updateable": False}
    fields = [
        Field("Id", "id", "Record ID", 18, nillable=False, **readonly),
        Field("IsDeleted", "boolean", "Deleted", nillable=False, **readonly),
        Field("CreatedDate", "datetime", "Created Date", nillable=False, **readonly),
        _ref("CreatedById", ("User",), "CreatedBy", label="Created By ID", nillable=False,
             **readonly),
        Field("LastModifiedDate", "datetime", "Last Modified Date", nillable=False, **readonly),
        _ref("LastModifiedById", ("User",), "LastModifiedBy", label="Last Modified By ID",
             nillable=False, **readonly),
        Field("SystemModstamp", "datetime", "System Modstamp", nillable=False, **readonly),
    ]
    if owner:
        fields.append(_ref("OwnerId", ("User",), "Owner", label="Owner ID", nillable=False))
    return fields


def _person_fields() -> list[Field]:
    return [
        Field("FirstName", "string", "First Name", 40),
        Field("LastName", "string", "Last Name", 80, required=True, nillable=False),
        Field("Name", "string", "Full Name", 121, createable=False, updateable=False),
        Field("Email", "email", "Email", 80),
        Field("Title", "string", "Title", 128),
        Field("Phone", "phone", "Phone", 40),
        Field("MobilePhone", "phone", "Mobile Phone", 40),
        Field("HasOptedOutOfEmail", "boolean", "Email Opt Out", nillable=False, default=False),
        Field("LeadSource", "picklist", "Lead Source", 255, picklist=LEAD_SOURCES),
        Field("Interests__c", "multipicklist", "Interests", 4099, custom=True,
              picklist=INTERESTS, restricted=True),
        Field("Score__c", "double", "Score", custom=True),
    ]


def _external_key() -> Field:
    return Field(EXTERNAL_KEY, "string", "Syncledger Key", 64, external_id=True, unique=True,
                 custom=True)


def _merge_field(obj: str) -> Field:
    return _ref("MasterRecordId", (obj,), "MasterRecord", label="Master Record ID",
                createable=False, updateable=False)


def build_schema(external_id_fields: bool = True) -> dict[str, SObject]:
    """Every object of the org; without external ids the Syncledger_Key__c fields are absent."""
    key = [_external_key()] if external_id_fields else []
    readonly: dict[str, Any] = {"createable": False, "updateable": False}
    objects = [
        SObject("Organization", "Organization", "Organizations", _fields(
            Field("Id", "id", "Organization ID", 18, nillable=False, **readonly),
            Field("Name", "string", "Name", 80, nillable=False, **readonly),
            Field("IsSandbox", "boolean", "Is Sandbox", nillable=False, **readonly),
            Field("OrganizationType", "string", "Edition", 40, **readonly),
            Field("InstanceName", "string", "Instance Name", 5, **readonly),
            Field("TimeZoneSidKey", "string", "Default Time Zone", 40, **readonly),
        ), createable=False, updateable=False, deletable=False),
        SObject("User", "User", "Users", _fields(
            *[f for f in _system(owner=False)],
            Field("FirstName", "string", "First Name", 40),
            Field("LastName", "string", "Last Name", 80, required=True, nillable=False),
            Field("Name", "string", "Full Name", 121, **readonly),
            Field("Email", "email", "Email", 128, required=True, nillable=False),
            Field("Username", "string", "Username", 80, required=True, nillable=False,
                  unique=True),
            Field("Alias", "string", "Alias", 8),
            Field("Title", "string", "Title", 80),
            Field("IsActive", "boolean", "Active", nillable=False, default=True),
            Field("TimeZoneSidKey", "string", "Time Zone", 40),
        ), createable=False, updateable=False, deletable=False),
        SObject("Lead", "Lead", "Leads", _fields(
            *_system(), *_person_fields(),
            Field("Company", "string", "Company", 255, required=True, nillable=False),
            Field("Status", "picklist", "Lead Status", 255, nillable=False, restricted=True),
            Field("Industry", "picklist", "Industry", 255, picklist=INDUSTRIES),
            Field("Website", "url", "Website", 255),
            Field("IsConverted", "boolean", "Converted", nillable=False, **readonly),
            _ref("ConvertedContactId", ("Contact",), "ConvertedContact",
                 label="Converted Contact ID", **readonly),
            _ref("ConvertedAccountId", ("Account",), "ConvertedAccount",
                 label="Converted Account ID", **readonly),
            Field("ConvertedDate", "date", "Converted Date", **readonly),
            _merge_field("Lead"), *key,
        )),
        SObject("Contact", "Contact", "Contacts", _fields(
            *_system(), *_person_fields(),
            _ref("AccountId", ("Account",), "Account", label="Account ID"),
            _merge_field("Contact"), *key,
        )),
        SObject("Account", "Account", "Accounts", _fields(
            *_system(),
            Field("Name", "string", "Account Name", 255, required=True, nillable=False),
            Field("Website", "url", "Website", 255),
            Field("Phone", "phone", "Account Phone", 40),
            Field("Industry", "picklist", "Industry", 255, picklist=INDUSTRIES),
            Field("NumberOfEmployees", "int", "Employees"),
            Field("AnnualRevenue", "currency", "Annual Revenue"),
            _merge_field("Account"), *key,
        )),
        SObject("Task", "Task", "Tasks", _fields(
            *_system(),
            _ref("WhoId", ("Contact", "Lead"), "Who", label="Name ID"),
            _ref("WhatId", ("Account",), "What", label="Related To ID"),
            Field("Subject", "combobox", "Subject", 255),
            Field("ActivityDate", "date", "Due Date Only"),
            Field("Status", "picklist", "Status", 255, nillable=False, default="Not Started",
                  picklist=("Not Started", "In Progress", "Completed", "Waiting on someone else",
                            "Deferred"), restricted=True),
            Field("Priority", "picklist", "Priority", 255, nillable=False, default="Normal",
                  picklist=("High", "Normal", "Low"), restricted=True),
            Field("TaskSubtype", "picklist", "Task Subtype", 255, updateable=False,
                  default="Task", picklist=TASK_SUBTYPES, restricted=True),
            Field("Type", "picklist", "Type", 255,
                  picklist=("Call", "Email", "Meeting", "LinkedIn", "Other")),
            Field("Description", "textarea", "Comments", 32000),
            Field("CallDurationInSeconds", "int", "Call Duration"),
            *key,
        )),
        SObject("Note", "Note", "Notes", _fields(
            *_system(),
            # Set on create only, as in Salesforce (an update naming it is refused).
            _ref("ParentId", ("Account", "Contact", "Lead"), "Parent", label="Parent ID",
                 required=True, nillable=False, updateable=False),
            Field("Title", "string", "Title", 80, required=True, nillable=False),
            Field("Body", "textarea", "Body", 32000),
            Field("IsPrivate", "boolean", "Private", nillable=False, default=False),
        )),
        SObject("LeadStatus", "Lead Status Value", "Lead Status Values", _fields(
            Field("Id", "id", "Lead Status Value ID", 18, nillable=False, **readonly),
            Field("MasterLabel", "string", "Master Label", 255, **readonly),
            Field("ApiName", "string", "Api Name", 255, **readonly),
            Field("SortOrder", "int", "Sort Order", **readonly),
            Field("IsDefault", "boolean", "Is Default", nillable=False, **readonly),
            Field("IsConverted", "boolean", "Is Converted", nillable=False, **readonly),
            Field("CreatedDate", "datetime", "Created Date", **readonly),
            Field("LastModifiedDate", "datetime", "Last Modified Date", **readonly),
            Field("SystemModstamp", "datetime", "System Modstamp", **readonly),
        ), createable=False, updateable=False, deletable=False),
    ]
    return {obj.name: obj for obj in objects}


def _fields(*fields: Field) -> dict[str, Field]:
    return {f.name: f for f in fields}
