"""A test hook: SYNCLEDGER_KILL_AT=<point> makes the process SIGKILL itself when it reaches
the named point, as the OOM killer or a power cut would, with no cleanup of any kind. Off
unless set. tests/integration/sync/test_kill_points.py kills a command at each point and
checks that the next one recovers: nothing lost, nothing written twice.

The points ("decided": the aggregates hold the decision, not yet saved; "saved": in the
store; "after_write": the CRM holds the writes, the log only their intents):

A sync run (commands/sync.py)
  run.started                 SyncRunStarted saved, the run lock held
  run.configuration_followed  the steps' configuration fingerprints saved
  run.before_finish           every step done, the run's end not recorded
  run.finish_decided          SyncRunFinished decided, not saved
  run.finished                SyncRunFinished saved, the run lock not yet released
Inbound people steps (commands/sync_inbound.py)
  inbound.page_read           a page of changed records read, nothing decided
  inbound.batch_decided       a batch's mirrors, people and watermark decided, not saved
  inbound.batch_saved         a batch saved with its watermark
  deletions.decided           a page of deleted or merged records decided, not saved
  deletions.saved             that page saved
Outbound people steps (commands/sync_outbound.py)
  outbound.chunk_decided      a chunk of due people planned, its intents not saved
  outbound.intents_saved      the chunk's intents saved, no call of theirs made
  outbound.after_write        a collections write answered, its results not recorded
  outbound.results_decided    the results decided, not saved
  outbound.results_saved      the results saved
  outbound.position_decided   the steps' outbound position decided, not saved
  outbound.advanced           the outbound position saved
Accounts of outbound Contacts (commands/sync_accounts.py)
  accounts.intents_saved      AccountName create intents saved, no call made
  accounts.after_write        the Accounts' upsert answered, its results not recorded
  accounts.results_saved      the Accounts' results saved
Activities (commands/sync_activities.py)
  activities.intents_saved    a chunk's Task and Note intents saved, no call made
  activities.after_write      the chunk's writes answered, their results not recorded
  activities.results_decided  the results decided, not saved
  activities.results_saved    the results saved, held bodies not yet released
  activities.advanced         the activity steps' position saved
Lead Statuses (commands/sync_activities.py)
  statuses.intents_saved      a chunk's Status intents saved, no call made
  statuses.after_write        the Status updates answered, their results not recorded
  statuses.results_saved      the results saved
  statuses.advanced           the status steps' position saved
An import (commands/app_import.py)
  import.batch_decided        a batch of lines decided (bodies held), not saved
  import.batch_saved          a batch saved, the import not completed
  import.completed            ImportCompleted saved, nothing printed
A forget (commands/forget.py)
  forget.recorded             the person's Forgotten saved, their keys not destroyed
  forget.keys_destroyed       the keys destroyed, held bodies and views not yet scrubbed
  forget.views_caught_up      the views caught up, their plaintext rows not yet dropped
A config apply (commands/configure.py)
  config.decided              the configuration's changes decided, not saved
  config.applied              the changes saved, nothing printed
A rebuild (projections/rebuild.py)
  rebuild.shadows_built       the shadow tables built and caught up, not swapped in
  rebuild.swapping            inside the swap's transaction, one view swapped
  rebuild.swapped             the swap committed
"""

from __future__ import annotations

import os
import signal

KILL_AT = "SYNCLEDGER_KILL_AT"


def kill_point(name: str) -> None:
    """Die here, at once, if SYNCLEDGER_KILL_AT names this point."""
    if os.environ.get(KILL_AT) == name:
        os.kill(os.getpid(), signal.SIGKILL)
