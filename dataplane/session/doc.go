// Package session is the session table shared by the gateway's flow fast
// path and the stateful NAT64 (RFC 6146): one fixed-capacity, lock-free
// hash table in which every session is found from both of its keys, the
// forward key (the first packet's tuple: the IPv6 5-tuple for NAT64) and
// the reverse key (the reply's tuple after translation: the IPv4 5-tuple
// towards the pool address for NAT64, the post-DNAT reply for the
// gateway), by any worker, whichever queue a packet arrives on.
//
// It owns: the Key and its stored form, the entry and index arrays, the
// Worker handle (counters, free-entry cache), expiry (Sweep), eviction, and
// the RFC 6146 TCP state machine (NextTCPState), which the gateway uses
// too. It does not own translation, pool port choice or BIB policy: those
// belong to the NAT64, which uses Insert's Conflict result to detect a
// pool port in use, and may keep its BIB in a second Table.
//
// It must never import anything under control/, fmt, log or log/slog
// (deps_test.go): every per-packet method does no allocation (tested with
// AllocsPerRun), takes no lock, makes no interface call and uses no map.
// It imports only the standard library.
//
// # Decision: one shared lock-free table
//
// The alternative was per-worker tables with the IPv4 pool's ports
// partitioned by worker and SPSC queues handing a packet to the worker
// that owns its session (VPP's NAT64 does this). It only works when the
// NIC can be told which queue the reply of a flow arrives on. On veth and
// on most NICs the kernel (RSS) chooses the queue from the packet's
// tuple, and the forward and reverse tuples of a translated flow hash
// differently: with n queues, (n-1)/n of the replies would land on the
// wrong worker and cost a handoff (a queue write, a cache-cold second
// worker, reordering against its own traffic), and a worker owning a hot
// EIP could not shed load. A shared table costs instead one CAS per
// published key on insert, and cache-line transfers on the rare writes to
// a session that two workers read (the last-seen time is written at most
// once per ~1 s tick, so an established flow's entry stays clean in both
// cores' caches). Lookups write nothing.
//
// Measured (go test -bench . -cpu 1,2, a 2-core VM shared with other
// jobs, so noisy: repeated runs differ by up to 40%): on 10M sessions,
// lookups by two goroutines ran 1.3x to 2.0x the rate of one
// (BenchmarkLookupParallel), inserts 1.6x to 1.9x (BenchmarkInsertParallel);
// one goroutine: ~275 ns per lookup hit at 1M sessions, ~340 ns at 10M,
// ~360 ns per insert, each dominated by two DRAM misses (bucket, entry).
//
// # Memory layout
//
// An entry is 6 uint64 words, 48 bytes (the array starts on a 64-byte
// boundary, on a 2 MiB boundary with MADV_HUGEPAGE when large):
//
//	w0  control: seq (32 bits) | TCP state (3) | pending (1) | class+1 (4) | last seen (24, ticks of 2^30 ns)
//	w1  forward key meta: zone (16) | proto (8) | family (8) | src port (16) | dst port (16)
//	w2  reverse key meta, same layout, with the reverse address mode in the family byte
//	w3  forward source address, bytes 0-7 (IPv4: the 4 bytes | Value[0])
//	w4  forward source address, bytes 8-15 (IPv4: Value[1] | Value[2])
//	w5  forward destination IPv4 (32) | the reverse key's own address (32)
//
// Keys are stored exactly, never as fingerprints, but in their shortest
// form: a NAT64 forward key (FamilyNAT64) keeps the client's IPv6 address
// whole and the destination as the IPv4 address embedded in it (RFC 6052:
// the prefix is configuration, named by the key's Zone), and the reverse
// key is IPv4. The reverse key stores one address, not two: a NAT
// rewrites one side of a flow, so the reply tuple always repeats one
// address of the forward tuple (NAT64 and SNAT: the reply's source is the
// forward destination; DNAT: the reply's destination is the forward
// source; a NAT64 binding's keys both have destination 0). Two bits in
// w2 say which reverse address is stored and which forward address the
// other one equals; Insert refuses keys that share none (Invalid). Two
// full IPv6 keys (80 bytes of keys) cannot fit; FamilyIPv6 keys are
// refused by Insert (an IPv6 gateway would need a larger entry: not
// built). The translation needs no separate field: the rewrite of a packet
// is the reverse of the other direction's key (Entry.Other). The user's
// Value (12 bytes: the gateway's EIP, generation and ports) lives in the
// 12 bytes an IPv4 forward source leaves free in w3-w4; a NAT64 session
// has no value (the NAT64 needs none: everything is in its keys), and
// Insert and SetValue refuse a non-zero one.
//
// The index is an array of 64-byte buckets of 16 uint32 words: slots 0-14
// each hold (entry index+1) << tagBits | tag, where the tag is the low
// bits of the key's hash (32 - bits(capacity) of them: 12 bits at 1M
// sessions, 5 at 100M), and word 15 counts the keys homed at or before
// this bucket that were placed beyond it (the overflow count). There are 8
// buckets per 45 sessions: two keys per session fill 75% of the slots when
// the entry array is full. A session therefore costs 48 + 64*8/45 = 59.4
// bytes; 100M sessions allocate 5.54 GiB (Table.Bytes).
//
// Half the entries straddle two cache lines (48-byte entries on 64-byte
// lines): a lookup that misses the caches loads 1.5 lines on average, both
// lines of a straddling entry at once (the loads are independent).
// Before the reverse key was stored as one address the entry was 64
// bytes, one line, 75.4 bytes a session with the index: 21% more memory
// for lookups that measured the same within the VM's noise
// (docs/performance.md, "Session table").
//
// Neither array holds a Go pointer (TestNoPointers checks the element
// types), so the GC never scans them: 100M sessions cost the collector
// nothing but one span.
//
// # Lookup
//
// Hash the key (three 64x64 multiplies, seeded per table), read the home
// bucket (one cache miss), compare the tag of the up to 15 slots, and for
// a tag match read the entry (the second miss) as a seqlock reader: load
// w0; if its seq is odd a writer owns the entry, retry; if it is not live,
// no match; compare the key words, copy the value and the other key, load
// w0 again and accept only if seq is unchanged. If the key is not in the
// bucket and the bucket's overflow count is 0, it is not in the table;
// otherwise go on to the next bucket (at most 32).
//
// Encoding and hashing a key is a tenth of a new NAT64 session's table
// work per key, and a new session looks its forward key and its binding's
// key up before it inserts them: Prepare does it once, LookupPrepared,
// LookupPrepare and InsertPrepared take the result. Plain lookups do not
// go through a Prepared: the extra stores cost lookups of a large table
// more in overlapped cache misses than the encoding costs (encodeHash).
// LookupWithoutOther skips decoding the other key, which the gateway's
// flows never read.
//
// A hit path refreshes what it finds: LookupTouch and LookupUpdateTCP
// look up, test expiry and refresh in one call (the gateway's flows and
// the NAT64's sessions made three: Lookup, Expired, Touch or UpdateTCP).
// The refresh decides from the lookup's snapshot: a session seen in the
// current tick is not expired (age 0) and, unless the packet moves its TCP
// state or class, needs no write, so the common hit reads the entry once
// and writes nothing; otherwise it writes as Touch or UpdateTCP do. An
// expired session is reported (HitExpired) and not written.
//
// # Why it is correct without locks
//
// Every word of both arrays is read and written only with sync/atomic
// operations, which the Go memory model makes sequentially consistent; so
// the race detector has nothing to report, and the reasoning is the
// classic one for seqlocks and CAS-published slots:
//
//   - An entry is written only by its owner: the inserter (it took the
//     entry from a free list), or the one writer whose CAS turned the seq
//     from even to odd (delete, SetValue). A writer stores seq odd first,
//     then the words, then seq even and new. A reader that saw the same even
//     seq before and after its loads read no word of a concurrent write
//     (all stores and loads are totally ordered; a store between its two
//     seq loads would be after the first odd store, so the second load
//     would see a larger seq). No reader ever returns a torn entry
//     (TestConcurrentNoTornReads checks a checksum of the keys in the value
//     on every hit, under -race).
//   - An entry becomes reachable only when a CAS puts its slot into the
//     index, after the entry is fully written; it stops being reachable
//     before it is freed (the deleter removes both slots while it holds
//     seq odd). A reader holding a stale index sees seq changed or the
//     entry free and reports no match.
//   - Overflow counts are incremented before a slot is placed past a
//     bucket and decremented after it is removed, so a reader can stop at
//     a zero count without missing a placed key. The forward and reverse
//     slots of one entry have the same value when their tags are equal,
//     and the deleter removes them by value; if it takes them in the other
//     order, the two removals still decrement exactly the buckets the two
//     placements incremented (each removal decrements the run from its own
//     key's home to the slot it took; the two runs swap their tails), and
//     the counts never drop below the live keys' needs in between.
//   - Two Inserts of one key race only if both missed it before
//     publishing. Each publishes, then scans for another entry with the
//     key: a finished one wins; between two pending ones the smaller index
//     wins; and the smaller one waits for a larger pending one to decide
//     (backing out when it sees the smaller, or finishing if it checked
//     too early, after which the smaller backs out). Since at least the
//     later publisher sees the earlier, exactly one survives
//     (TestConcurrentSameKey). The reverse key is published first, so a
//     Conflict (NAT64: pool port in use) is found before the forward key is
//     visible. A pending entry cannot be deleted, evicted or swept, only
//     its inserter unpublishes it.
//   - The scans that visit every slot with a tag (publish's duplicate scan,
//     PrefetchEntry) load the 15 slots as 8 aligned 64-bit words (two
//     slots each; the last word's high half is the overflow count), where
//     writers CAS and add single 32-bit slots. A 64-bit atomic load is one
//     sequentially consistent operation on its 8 bytes, so it is an SC
//     load of each of its two slots at one point of the total order, as
//     if they were loaded back to back. The arguments above need of a
//     scan only that each slot it examines is read by an SC load placed
//     after the scanner's own earlier steps (an inserter's duplicate scan
//     after its publishing CAS), never that the slots are read in slot
//     order or one at a time; so they hold. A matching slot is loaded
//     once more by itself and checked again: a slot that changed between
//     the two loads is judged as read at the second, a later SC load,
//     still after those steps. (Mixed-size atomics on the same memory are
//     coherent on the hardware Go supports, and the race detector treats
//     both as synchronising accesses.)
//   - Touch and UpdateTCP change only w0, by CAS against the handle's seq,
//     so they can never touch a later incarnation of the entry. SetValue
//     gives the session a new seq: holders of the old handle get false and
//     look up again.
//   - LookupTouch and LookupUpdateTCP are a lookup followed by Touch or
//     UpdateTCP on the handle it returned, so the two arguments above
//     cover them; what they add is the case where they write nothing.
//     That decision is made on the snapshot, a consistent read of w0 at
//     the seqlock reader's first load (validated by the second): had the
//     packet's update been made atomically at that point of the total
//     order, it would have stored w0 unchanged (same tick, same state and
//     class), so skipping it is that execution. (The three calls were not
//     atomic either: UpdateTCP read a w0 later than the lookup's.) When a
//     write is needed it is Touch's or UpdateTCP's CAS loop, which
//     re-reads w0 and recomputes from it.
//
// # Free entries
//
// Entries are handed out by a bump counter in runs of 64 (one atomic add
// per 64 inserts). Freed entries go to the freeing worker's private chain
// (linked through w1); each full chain of 64 goes to a lock-free stack
// (Treiber, its top word tagged against ABA) from which workers with
// nothing left take whole chains. At most three partial runs per worker
// are out of reach of the others (TestCapacityRecycledAcrossWorkers).
//
// # Expiry and eviction
//
// Each session has a timeout class (Config.Timeouts, RFC 6146's defaults:
// UDP 5 min, TCP established 2 h 4 min, TCP transitory 4 min, ICMP query
// 60 s) and a last-seen time in ticks of 2^30 ns (~1.07 s; timeouts are
// rounded up to whole ticks). Expiry is a clock sweep that never stops a
// worker: every worker calls Sweep(n, now) once per batch, which takes
// the next n entries from a shared hand (one atomic add) and deletes those
// idle past their class's timeout with the normal delete protocol (the
// data plane sweeps 16 entries per batch: with 2 workers at 10,000
// batches/s, 100M entries every 5 minutes). A goroutine calling Sweep on a
// timer works too, and the daemon runs one (control/daemon/sweep.go: the
// whole table once a minute, whatever the traffic; the workers' share
// alone would crawl at a low packet rate and stop without packets). Ages are
// computed modulo 2^24 ticks and signed, so workers whose clocks differ by
// a tick do not age each other's sessions.
//
// An expired session the sweep has not reached yet holds neither key:
// Insert removes one it meets, before publication or after (counted
// Expired), so that a key (a NAT64 pool port) is free as soon as its
// session's lifetime ends, not when the sweep comes round.
//
// When Insert finds no free entry, or the new key's 32-bucket window has
// no free slot, PolicyOldest removes the session with the least lifetime
// left (an expired one first) among a sample of 4 of those in the new
// key's home bucket (from a slot the key's hash picks; read without locks,
// the delete CAS settles races with other evictors and sweepers: each
// candidate is a cache miss in a large table, and comparing 4 instead of
// all 15 made new NAT64 sessions into a full 8M-entry table 30% cheaper,
// BenchmarkNAT64NewSessionsFullTable), or, when the home bucket has none
// (empty, or only entries being written: in a small table one bucket in
// seven was empty, and a third of new NAT64 sessions were refused while
// old ones could have gone), in the nearest bucket after it in the probe
// window that has; counted as Evicted (or Expired if it had timed out);
// PolicyDropNew refuses the session. Both count InsertFailedFull when
// nothing could be done.
//
// # Counters
//
// Each Worker counts in private memory and publishes with atomic adds on
// Flush (once per batch); Table.Stats sums the published copies without
// contending with any worker.
//
// # Limits
//
// Capacity below 2^28. At 100M sessions the slot tags are 5 bits, so a
// lookup reads a non-matching entry for about one tag collision in 32
// occupied slots it scans. FamilyIPv6 keys are not stored. A lookup that
// finds an entry's writer descheduled mid-write retries 64 times, then
// reports a miss (the slow path then finds the session on Insert).
package session
