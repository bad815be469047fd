package store

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// CheckpointInterval is how often the SQLite write-ahead log is copied back
// into the database file.
const CheckpointInterval = 500 * time.Millisecond

// checkpointer copies the SQLite write-ahead log into the database file
// from a connection of its own. The writer's automatic checkpoints are off
// (wal_autocheckpoint 0), so a commit never waits for one: the copy runs
// beside the writes, on another core, as a passive checkpoint that neither
// blocks nor waits for readers and writers. The log therefore holds at most
// about one interval of writes; journal_size_limit trims the file once the
// log restarts.
type checkpointer struct {
	db     *sql.DB
	logger *slog.Logger
	stop   chan struct{}
	done   sync.WaitGroup
}

func startCheckpointer(path string, logger *slog.Logger) (*checkpointer, error) {
	db, err := openSQLitePool(path, sqliteCheckpointParams, 1)
	if err != nil {
		return nil, err
	}
	c := &checkpointer{db: db, logger: logger, stop: make(chan struct{})}
	c.done.Add(1)
	go c.loop()
	return c, nil
}

func (c *checkpointer) loop() {
	defer c.done.Done()
	t := time.NewTicker(CheckpointInterval)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
			if _, _, err := c.checkpoint(context.Background(), "PASSIVE"); err != nil {
				c.logger.Warn("sqlite checkpoint failed", "err", err)
			}
		}
	}
}

// checkpoint runs one checkpoint of the given mode and returns the frames
// in the log and how many of them are now in the database file.
func (c *checkpointer) checkpoint(ctx context.Context, mode string) (logFrames, copied int, err error) {
	var busy int
	if err := c.db.QueryRowContext(ctx, `PRAGMA wal_checkpoint(`+mode+`)`).Scan(&busy, &logFrames, &copied); err != nil {
		return 0, 0, fmt.Errorf("store: wal checkpoint: %w", err)
	}
	return logFrames, copied, nil
}

// close stops the loop and closes the connection; closing the last
// connection to the database checkpoints what is left.
func (c *checkpointer) close() error {
	close(c.stop)
	c.done.Wait()
	return c.db.Close()
}
