"""Accounts for outbound Contacts (a Contacts step that maps `{ crm = "Account.Name", app =
"account" }`): each company name is resolved once to an Account: one we hold already, else
one found by Name in batched queries (the oldest, when several), else one created through
an `AccountName` intent recorded before the call and upserted on its key, so a retried or
crashed create never makes a second Account."""

from __future__ import annotations

from syncledger.adapters.aggregate_cache import AggregateCache
from syncledger.adapters.kill_points import kill_point
from syncledger.commands.sync_context import RunContext
from syncledger.domain.account_name import AccountName
from syncledger.domain.crm_record import Account, CrmRecord
from syncledger.domain.ids import account_name_id, crm_record_id, natural_id
from syncledger.domain.outbound_person_plan import ACCOUNT_NAME, AccountFailure
from syncledger.domain.ports import RecordWrite, WritesStopped
from syncledger.domain.steps import Step

ACCOUNT = "Account"


def account_app_field(step: Step) -> str | None:
    return next((m.app for m in step.field_mappings if m.crm == ACCOUNT_NAME), None)


def resolve_accounts(run: RunContext, step: Step, names: list[str]
                     ) -> dict[str, str | AccountFailure]:
    """Lowercased company name -> AccountId (or why none could be made), for every name."""
    resolved: dict[str, str | AccountFailure] = {}
    cache = AggregateCache(run.app)
    cache.prefetch(account_name_id(run.crm, run.org, name) for name in names)
    unknown = []
    for name in names:
        held = cache.get(account_name_id(run.crm, run.org, name), AccountName)
        if held is not None and held.account_id:
            resolved[name.lower()] = held.account_id
        else:
            unknown.append(name)
    found = _found_by_name(run, unknown)
    to_create = []
    for name in unknown:
        holder = cache.get(account_name_id(run.crm, run.org, name), AccountName)
        if holder is None:
            holder = AccountName.open(run.crm, run.org, name, run.ctx)
            cache.add(holder)
        if name.lower() in found:
            holder.found(found[name.lower()], run.ctx)
            resolved[name.lower()] = found[name.lower()]
        else:
            holder.request_create(_key(run, name), run.ctx)
            to_create.append(holder)
    run.app.save(*cache.changed())  # the intents, before any call
    kill_point("accounts.intents_saved")
    size = run.gateway.group_size
    for start in range(0, len(to_create), size):
        batch = to_create[start:start + size]
        resolved.update(_create(run, step, cache, batch))
    return resolved


def _found_by_name(run: RunContext, names: list[str]) -> dict[str, str]:
    """Accounts already in the CRM, by lowercased Name (Salesforce compares Names without
    case): the oldest by CreatedDate, Id, as for people."""
    if not names:
        return {}
    rows = [row for page in run.gateway.find(ACCOUNT, [{"Name": name} for name in names],
                                             ["Id", "Name", "CreatedDate"]) for row in page]
    found: dict[str, str] = {}
    for row in sorted(rows, key=lambda r: (str(r.values.get("CreatedDate") or ""), r.id)):
        found.setdefault(str(row.values.get("Name") or "").strip().lower(), row.id)
    return found


def _key(run: RunContext, name: str) -> str:
    return natural_id(f"key:{run.org}:Account:{name.strip().lower()}").hex


def _create(run: RunContext, step: Step, cache: AggregateCache, holders: list[AccountName]
            ) -> dict[str, str | AccountFailure]:
    writes = [RecordWrite(stream=ACCOUNT, action="create", fields={"Name": h.name},
                          key=str(h.pending_key)) for h in holders]
    stopped: Exception | None = None
    try:
        [answers] = run.gateway.write([writes])
    except WritesStopped as stop:  # a limit or a refusal: record what landed, then stop
        [answers], stopped = stop.outcomes, stop.cause
    kill_point("accounts.after_write")
    resolved: dict[str, str | AccountFailure] = {}
    tallies: list[tuple[str, tuple[str, str] | None]] = []
    for holder, answer in zip(holders, answers, strict=True):
        if answer.ok:
            account_id = str(answer.crm_id)
            holder.created(account_id, run.ctx)
            mirror = cache.get(crm_record_id(run.crm, run.org, ACCOUNT, account_id), CrmRecord)
            if mirror is None:
                mirror = Account.discover(run.crm, run.org, account_id, run.ctx)
                cache.add(mirror)
            mirror.record_written(account_id, run.ctx, content={"Name": holder.name})
            resolved[holder.name.lower()] = account_id
            tallies.append(("created", None))
            continue
        code, message = str(answer.code), answer.message
        holder.create_failed(code, message, answer.retryable, run.ctx)
        resolved[holder.name.lower()] = AccountFailure(
            f"Account {holder.name!r} could not be created ({code})")
        tallies.append(("failed", (code, message)))
    run.app.save(*cache.changed())
    kill_point("accounts.results_saved")
    for outcome, failure in tallies:  # only once their save went through
        if failure is None:
            run.count("accounts", outcome)
        else:
            run.error(step, "accounts", None, None, *failure)
    if stopped is not None:
        raise stopped
    return resolved
