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
