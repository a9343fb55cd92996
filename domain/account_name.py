"""Which Account a company name stands for in one org (a Contacts step that maps
`Account.Name`): found by Name, or created by us. Like a person's own record, the Account
we create is held here until the CRM gives it an id, with the intent recorded before the
call, so that a retried or reconciled create never makes a second Account."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from syncledger.domain.caused import CausedAggregate
from syncledger.domain.context import Context
from syncledger.domain.ids import account_name_id


class AccountName(CausedAggregate):
    @staticmethod
    def create_id(crm: str, org: str, name: str, **_: Any) -> UUID:
        return account_name_id(crm, org, name)

    @classmethod
    def open(cls, crm: str, org: str, name: str, ctx: Context) -> AccountName:
        return cls._begin(ctx, crm=crm, org=org, name=name)

    @event("Opened")
    def __init__(self, crm: str, org: str, name: str) -> None:
        self.crm = crm
        self.name = name
        self.account_id: str | None = None
        self.pending_key: str | None = None

    def found(self, account_id: str, ctx: Context) -> None:
        """An Account with this Name already in the CRM (the oldest, when several)."""
        if account_id == self.account_id:
            return
        self._happened(self._resolved, ctx, account_id=account_id, created=False)

    def request_create(self, key: str, ctx: Context) -> None:
        if self.pending_key == key:
            return
        self._happened(self._create_requested, ctx, key=key)

    def created(self, account_id: str, ctx: Context) -> None:
        self._happened(self._resolved, ctx, account_id=account_id, created=True)

    def create_failed(self, code: str, message: str, retryable: bool, ctx: Context) -> None:
        self._happened(self._create_failed, ctx, code=code, message=message,
                       retryable=retryable)

    @event("Resolved")
    def _resolved(self, account_id: str, created: bool) -> None:
        self.account_id = account_id
        self.pending_key = None

    @event("CreateRequested")
    def _create_requested(self, key: str) -> None:
        self.pending_key = key

    @event("CreateFailed")
    def _create_failed(self, code: str, message: str, retryable: bool) -> None:
        self.pending_key = None
