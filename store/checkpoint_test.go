package store

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/calgate/calgate"
)

// The writer never checkpoints by itself (wal_autocheckpoint is 0), so the
// log reaching the database file proves the checkpointer works; without
// it, the file would keep only the schema until the database is closed.
func TestCheckpointerCopiesTheLogIntoTheDatabaseFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	db := openSQLiteIn(t, dir)
	var auto int
	if err := db.w.QueryRowContext(ctx, `PRAGMA wal_autocheckpoint`).Scan(&auto); err != nil {
		t.Fatal(err)
	}
	if auto != 0 {
		t.Fatalf("writer's wal_autocheckpoint = %d, want 0", auto)
	}
	file := filepath.Join(dir, SQLiteFile)
	size := func() int64 {
		fi, err := os.Stat(file)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	before := size()
	ws := &calgate.Workspace{Name: "ckpt", Timezone: "UTC"}
	if err := db.CreateWorkspace(ctx, ws); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Upsert(ctx, ws.ID, "test", bulkItems(3000), calgate.UpsertOptions{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * CheckpointInterval)
	for size() <= before {
		if time.Now().After(deadline) {
			t.Fatalf("database file still %d bytes after %v: the log was never checkpointed", size(), 10*CheckpointInterval)
		}
		time.Sleep(CheckpointInterval / 5)
	}
	logFrames, copied, err := db.ckpt.checkpoint(ctx, "PASSIVE")
	if err != nil {
		t.Fatal(err)
	}
	if copied != logFrames {
		t.Errorf("after a quiet checkpoint %d of %d log frames are in the file", copied, logFrames)
	}
	// Entries read back through the readers, which see log and file alike.
	list, _, err := db.Entries(ctx, ws.ID, calgate.EntryFilter{Limit: 10})
	if err != nil || len(list) != 10 {
		t.Fatalf("entries after checkpoint: %d, %v", len(list), err)
	}
}

// Bulk writes format times themselves on SQLite; the text must be exactly
// what the driver writes for a time.Time, or comparisons between times
// written the two ways (start_at < ?, updated_at > ?) would go wrong.
func TestSQLiteTimeArgIsTheDriversText(t *testing.T) {
	db := openSQLite(t)
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	times := []time.Time{
		time.Date(2025, 7, 1, 9, 0, 0, 0, time.UTC),
		time.Date(2025, 7, 1, 9, 0, 0, 123456000, time.UTC),
		time.Date(2025, 12, 31, 23, 59, 59, 999999999, berlin),
		time.Date(1999, 1, 2, 3, 4, 5, 600000000, time.FixedZone("", -7*3600)),
	}
	for _, tm := range times {
		var same bool
		if err := db.w.QueryRowContext(ctx, `SELECT ? = ?`, dbTime(tm), db.d.timeArg(tm)).Scan(&same); err != nil {
			t.Fatal(err)
		}
		if !same {
			t.Errorf("%v: timeArg wrote %q, the driver something else", tm, db.d.timeArg(tm))
		}
	}
	ws := &calgate.Workspace{Name: "times", Timezone: "UTC"}
	if err := db.CreateWorkspace(ctx, ws); err != nil {
		t.Fatal(err)
	}
	items := bulkItems(300) // more than one statement: built beside the writer
	last := items[299].Entry
	last.Start, last.End = times[2], times[2].Add(time.Hour)
	if _, err := db.Upsert(ctx, ws.ID, "test", items, calgate.UpsertOptions{}); err != nil {
		t.Fatal(err)
	}
	// Read back through a TIMESTAMP column as the same instant, and found
	// by a window whose bounds the driver writes.
	list, _, err := db.Entries(ctx, ws.ID, calgate.EntryFilter{From: times[2].Add(-time.Minute), To: times[2].Add(time.Minute)})
	if err != nil || len(list) != 1 || list[0].ExternalID != last.ExternalID {
		t.Fatalf("window query found %d entries, %v", len(list), err)
	}
	if !list[0].Start.Equal(dbTime(times[2])) {
		t.Errorf("start read back as %v, want %v", list[0].Start, dbTime(times[2]))
	}
}
