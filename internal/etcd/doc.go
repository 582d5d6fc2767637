// Package etcd keeps Tocsin's state in etcd, runs the leader election and
// starts an embedded member for the single-machine default and for tests.
//
// Layout under the prefix (default /tocsin/), small JSON records:
//
//	dir/current                  version of the directory in force
//	dir/v/<version>/<official>   the officials of that version
//	act/<activation>             an activation
//	open/<activation>            present while the activation is open; holds the number index's shard count; rewritten as it is when a follow-up message is added
//	rcpt/<activation>/<official> a recipient, with its attempts and notices
//	num/<activation>/<shard>     the number index: which officials each number answers for, shard by hash of the number
//	evt/<activation>/<seq>       the timeline; seq sorts by server time
//	rpl/<activation>/<seq>       empty: the index of the replies that did not acknowledge (events of kind reply), written with them
//	hdl/<activation>/<seq>       a reply of the inbox handled, by whom and when
//	user/<name>, token/<sha256>  users (with their console password hash) and API tokens by the hash of their secret
//	tokenid/<user>/<id>          a user's personal tokens, to list and revoke them
//	sess/<sha256>                a console session, under the hash of its id, on a lease
//	throttle/<sha256>            failed logins of a name or an address, on a lease
//	ssostate/<sha256>            a login through the identity provider, until its return, on a lease; taken once
//	leader/                      the election
//	audit/head, audit/e/<seq>    the audit trail's head and its hash-chained entries
//	audit/out/<at>-<random>      the outbox: entries written with their change, not chained yet
//	audit/mark                   the revision up to which recipients' changes are in the trail
//	exercise/since, exercise/run/<due, UTC>  the exercise schedule's runs
//	history/lock                 held while a history file is imported
//	pace                         the leader's effective sending rates (adaptive pacing) and route, for every replica
//	route                        the duty officer's choice of provider route (auto, primary, secondary)
//	cip/operators, cip/cells/<activation>  the CIP's roster, and the cell of each activation's CIP
//	cip/message, cip/messages/<version>    the public line's message in force, and every version
//	cip/calls/<activation>/<call sid>      a call to the public line, how it left the queue
//	cip/waiting/<activation>/<call sid>    present while that caller waits in the queue (written with the call)
//	cip/desks/<activation>/<operator>      an operator in position as the queue sees them: free, or called (claim)
//
// Invariants:
//   - An activation exists once act/<id> exists. Its recipients, number
//     index and first event are written before it, so whoever sees the
//     activation sees all of it; a crash during creation leaves only
//     unreachable leftovers, never half an activation.
//   - A directory import writes a new version, then switches dir/current in
//     one operation: readers see the old directory or the new one, never a mix.
//   - A write in several transactions deletes nothing after a failure of
//     unknown outcome (timeout, lost quorum): it may have committed. Only
//     a switch whose compares failed deletes its own version. The leader
//     collects leftovers (data under rcpt/, num/, evt/ with no act/<id>;
//     versions not in force) once nothing of them was written for 10
//     minutes, each in a transaction that compares act/<id> still absent
//     or dir/current unchanged (leftovers.go).
//   - A write that records a change puts its audit entry in audit/out/ in
//     the same transaction (outbox.go); the chain is appended later.
//   - Records change by compare-and-swap on their mod revision. Writes made by
//     the leader also compare the leader key's create revision (the fence):
//     a deposed leader can write nothing.
//   - Each recipient change and the events it causes are one transaction.
//     Changes to different recipients made at the same moment may share
//     it (combine.go); each keeps its own compare-and-swap.
//   - act/, evt/ and rcpt/ lie in one key range: WatchActivity watches it
//     whole, so that the console sees the changes in one revision order.
package etcd
