-- An acknowledgement, snooze or reopening of break $id, by $user at $at: appended, never
-- rewritten (the latest one counts), so the history keeps who said what when.
-- $note says why (an acknowledgement needs one); $until ends a snooze.
INSERT INTO actions (break_id, action, note, until, acted_at, by_user)
VALUES ($id, $action, $note, $until, $at, $user)
