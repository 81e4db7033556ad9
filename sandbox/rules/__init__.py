"""What QBO does when something is written: the rules clients depend on.

Server-assigned `Id`; `SyncToken` checked on every write (stale: 5010) and bumped on every change
(a no-op sparse update keeps it, as the real API does); `MetaData` in the company's offset;
DisplayName unique across customers, vendors and employees (6240); required fields (2020);
unknown properties (2010); references that must exist (2500) and be active (610); sales forms
that add up; payments that reduce the invoices they pay and link both ways; name lists that are
never deleted but made inactive, with " (deleted)" appended to their name.

Every change is reported as a `Change`, which the webhook emitter turns into notifications.
"""

from sandbox.rules.changes import Change
from sandbox.rules.write_rules import WriteRules

__all__ = ["Change", "WriteRules"]
