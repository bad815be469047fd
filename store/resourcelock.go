package store

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/calgate/calgate"
)

// Writers of one resource on PostgreSQL meet on advisory locks before they
// read what occupies it, so that two transactions cannot each book its
// last place and two overlapping entries written at once still end up
// recorded as a conflict. The locks are taken at the granularity at which
// writers can interfere:
//
//   - Time is cut into hour buckets per (workspace, resource). A writer
//     whose changes on a resource span at most resourceLockMaxBuckets
//     buckets takes the resource's lock shared and each of those buckets
//     exclusive. Two such writers wait for each other only when their
//     spans share an hour, which two overlapping entries always do; writers
//     of different hours of one resource go side by side, commit included.
//   - A writer with a longer span, a resource whose capacity is above one
//     (whether two entries conflict then depends on the others under way
//     during their overlap, wherever it lies), a recheck of the whole
//     resource, or a write that may archive entries it does not name (a
//     sync or a document replaced), takes the resource's lock exclusive,
//     which waits for and excludes every other writer of the resource.
//
// With a capacity of one, whether two entries conflict depends on those two
// alone, so the bucket locks suffice for the conflict rows. The events of
// an entry whose conflicts another writer may change at the same time
// (it lies across several buckets) are kept in order by entryLocks.
//
// All locks of a transaction are taken in one statement in key order, so
// writers cannot deadlock on them. The capacity that decides the mode is
// read in that statement; confirmLocks catches a capacity raised meanwhile.
const (
	// resourceLockBase starts the locks of resources ("calr", then one
	// of lockBuckets hashes of the name, bounding a batch's locks).
	resourceLockBase = int64(0x63616c72) << 32
	// bucketLockBase starts the locks of hours of a resource ("calb", then
	// 32 bits of the hash of workspace, resource and hour).
	bucketLockBase = int64(0x63616c62) << 32
	// entryLockBase starts the locks of entries whose conflict events a
	// transaction writes ("cale", then 32 bits of the hash of the id).
	entryLockBase = int64(0x63616c65) << 32

	resourceLockBucket = time.Hour
	// resourceLockMaxBuckets bounds the hour locks per resource; a
	// longer span takes the resource exclusive.
	resourceLockMaxBuckets = 48
	// resourceLockMaxTotal bounds the hour locks of one transaction (the
	// server's lock table is max_locks_per_transaction × max_connections).
	resourceLockMaxTotal = 128
)

// heldLock is what a transaction holds on one resource: the resource
// exclusive, or it shared with the hour buckets from..to.
type heldLock struct {
	exclusive bool
	from, to  int64
}

func resourceLock(workspaceID, name string) int64 {
	return resourceLockBase + int64(hash64("resource", workspaceID, name)%lockBuckets)
}

func bucketLock(workspaceID, name string, bucket int64) int64 {
	return bucketLockBase + int64(uint32(hash64("bucket", workspaceID, name, strconv.FormatInt(bucket, 10))))
}

func entryLock(workspaceID, id string) int64 {
	return entryLockBase + int64(uint32(hash64("entry", workspaceID, id)))
}

// spanBuckets returns the first and last hour bucket that iv meets (end
// exclusive); at least one.
func spanBuckets(iv calgate.Interval) (int64, int64) {
	size := int64(resourceLockBucket / time.Second)
	from := floorDiv(iv.Start.Unix(), size)
	last := iv.End.Unix()
	if iv.End.Nanosecond() == 0 {
		last--
	}
	to := max(floorDiv(last, size), from)
	return from, to
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// covers reports whether the held lock protects writes over iv.
func (h heldLock) covers(iv calgate.Interval) bool {
	if h.exclusive {
		return true
	}
	from, to := spanBuckets(iv)
	return from >= h.from && to <= h.to
}

// lockResourcesSQL takes the locks of one call in key order: $1 the
// workspace; $2 and $3 the names and whether each must be exclusive
// whatever its capacity; $4 and $5 the resource lock of each name; $6
// and $7 the hour locks and their names. It answers which names it took
// exclusive.
const lockResourcesSQL = `WITH want AS (
	SELECT w.name, w.long OR COALESCE(r.capacity, 1) > 1 AS slow
	FROM unnest($2::text[], $3::bool[]) AS w(name, long)
	LEFT JOIN resources r ON r.workspace_id = $1 AND r.name = w.name
), keys AS (
	SELECT k.k, bool_or(want.slow) AS excl FROM unnest($4::bigint[], $5::text[]) AS k(k, name) JOIN want USING (name) GROUP BY k.k
	UNION ALL
	SELECT k.k, true FROM unnest($6::bigint[], $7::text[]) AS k(k, name) JOIN want USING (name) WHERE NOT want.slow GROUP BY k.k
)
SELECT want.name, want.slow FROM want,
	(SELECT COUNT(*) FROM (SELECT CASE WHEN excl THEN pg_advisory_xact_lock(k) ELSE pg_advisory_xact_lock_shared(k) END FROM keys ORDER BY k) AS s) AS locked`

// lockResources takes, on PostgreSQL, the locks that writes over spans
// need on the resources named: those not locked yet (fresh) as described
// above, and those already locked over a narrower span exclusive.
func (c *conflictRun) lockResources(ctx context.Context, spans map[string]calgate.Interval, fresh []string) error {
	if c.locks == nil {
		c.locks = map[string]heldLock{}
	}
	type want struct {
		name     string
		long     bool
		from, to int64
	}
	var list []want
	total := 0
	for _, n := range fresh {
		from, to := spanBuckets(spans[n])
		w := want{name: n, from: from, to: to, long: c.exclusive || to-from+1 > resourceLockMaxBuckets}
		if !w.long {
			total += int(to - from + 1)
		}
		list = append(list, w)
	}
	for n, iv := range spans {
		if h, ok := c.locks[n]; ok && n != "" && !h.covers(iv) && !slices.Contains(fresh, n) {
			list = append(list, want{name: n, long: true})
		}
	}
	if len(list) == 0 {
		return nil
	}
	var names, resNames, bucketNames []string
	var longs []bool
	var resKeys, bucketKeys []int64
	for _, w := range list {
		w.long = w.long || total > resourceLockMaxTotal
		names, longs = append(names, w.name), append(longs, w.long)
		resKeys, resNames = append(resKeys, resourceLock(c.workspaceID, w.name)), append(resNames, w.name)
		if !w.long {
			for b := w.from; b <= w.to; b++ {
				bucketKeys, bucketNames = append(bucketKeys, bucketLock(c.workspaceID, w.name, b)), append(bucketNames, w.name)
			}
		}
		if h, ok := c.locks[w.name]; !ok || !h.exclusive {
			c.locks[w.name] = heldLock{from: w.from, to: w.to}
		}
	}
	rows, err := c.tx.QueryContext(ctx, lockResourcesSQL, c.workspaceID, names, longs, resKeys, resNames, bucketKeys, bucketNames)
	if err != nil {
		return fmt.Errorf("lock resources: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var n string
		var slow bool
		if err := rows.Scan(&n, &slow); err != nil {
			return fmt.Errorf("lock resources: %w", err)
		}
		if slow {
			c.locks[n] = heldLock{exclusive: true}
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("lock resources: %w", err)
	}
	return nil
}

// confirmLocks takes exclusive the resources locked shared whose capacity,
// as read under the lock, is above one: it was raised between the read
// that chose the mode and the lock. Rare; it may wait on a writer that
// waits on this one, which the server ends as a deadlock.
func (c *conflictRun) confirmLocks(ctx context.Context, found map[string]*calgate.Resource) error {
	var keys []int64
	for n, r := range found {
		if h, ok := c.locks[n]; ok && !h.exclusive && r.Capacity > 1 {
			keys = append(keys, resourceLock(c.workspaceID, n))
			c.locks[n] = heldLock{exclusive: true}
		}
	}
	return c.lockKeys(ctx, keys)
}

// entryLocks takes, on PostgreSQL, the locks of the entries whose conflict
// events this transaction may write, so that two writers that change the
// conflicts of one entry in different hours decide its events one after
// the other (the second sees the first's rows).
func (c *conflictRun) entryLocks(ctx context.Context, ids []string) error {
	if !c.db.d.postgres || len(ids) == 0 {
		return nil
	}
	keys := make([]int64, len(ids))
	for i, id := range ids {
		keys[i] = entryLock(c.workspaceID, id)
	}
	return c.lockKeys(ctx, keys)
}

// lockKeys takes exclusive advisory locks in key order.
func (c *conflictRun) lockKeys(ctx context.Context, keys []int64) error {
	if len(keys) == 0 {
		return nil
	}
	slices.Sort(keys)
	keys = slices.Compact(keys)
	var n int
	if err := c.tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT pg_advisory_xact_lock(k) FROM unnest($1::bigint[]) AS k ORDER BY k) AS locked`,
		keys).Scan(&n); err != nil {
		return fmt.Errorf("lock: %w", err)
	}
	return nil
}
