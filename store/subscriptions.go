package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/calgate/calgate"
)

var _ calgate.SubscriptionStore = (*DB)(nil)

const subscriptionColumns = `id, workspace_id, name, url, kind, resource, poll_seconds, state, last_error,
	etag, last_modified, last_polled_at, last_success_at, last_result, next_poll_at, created_at, updated_at`

func scanSubscription(row scanner) (*calgate.Subscription, error) {
	var s calgate.Subscription
	var seconds int64
	var polled, success sql.NullTime
	var result []byte
	if err := row.Scan(&s.ID, &s.WorkspaceID, &s.Name, &s.URL, &s.Kind, &s.Resource, &seconds, &s.State, &s.LastError,
		&s.ETag, &s.LastModified, &polled, &success, &result, &s.NextPollAt, &s.CreatedAt, &s.UpdatedAt); err != nil {
		return nil, err
	}
	s.PollInterval = time.Duration(seconds) * time.Second
	if polled.Valid {
		t := polled.Time.UTC()
		s.LastPolledAt = &t
	}
	if success.Valid {
		t := success.Time.UTC()
		s.LastSuccessAt = &t
	}
	if len(result) > 0 {
		if err := json.Unmarshal(result, &s.LastResult); err != nil {
			return nil, fmt.Errorf("subscription %s: decode last result: %w", s.ID, err)
		}
	}
	s.NextPollAt, s.CreatedAt, s.UpdatedAt = s.NextPollAt.UTC(), s.CreatedAt.UTC(), s.UpdatedAt.UTC()
	return &s, nil
}

// CreateSubscription stores a new subscription.
func (db *DB) CreateSubscription(ctx context.Context, s *calgate.Subscription) error {
	result, err := json.Marshal(s.LastResult)
	if err != nil {
		return fmt.Errorf("store: create subscription %s: %w", s.ID, err)
	}
	q := `INSERT INTO ical_subscriptions (` + subscriptionColumns + `) VALUES (` + placeholders(17) + `)`
	_, err = db.w.ExecContext(ctx, db.d.rebind(q), s.ID, s.WorkspaceID, s.Name, s.URL, string(s.Kind), s.Resource,
		int64(s.PollInterval/time.Second), s.State, s.LastError, s.ETag, s.LastModified, nullTime(s.LastPolledAt),
		nullTime(s.LastSuccessAt), string(result), dbTime(s.NextPollAt), dbTime(s.CreatedAt), dbTime(s.UpdatedAt))
	if err != nil {
		return fmt.Errorf("store: create subscription %s: %w", s.ID, err)
	}
	return nil
}

// Subscription returns one subscription of the workspace.
func (db *DB) Subscription(ctx context.Context, workspaceID, id string) (*calgate.Subscription, error) {
	q := `SELECT ` + subscriptionColumns + ` FROM ical_subscriptions WHERE workspace_id = ? AND id = ?`
	s, err := scanSubscription(db.r.QueryRowContext(ctx, db.d.rebind(q), workspaceID, id))
	if err != nil {
		return nil, fmt.Errorf("store: subscription %s: %w", id, notFound(err))
	}
	return s, nil
}

// Subscriptions lists a workspace's subscriptions in id order.
func (db *DB) Subscriptions(ctx context.Context, workspaceID, cursor string, limit int) ([]*calgate.Subscription, string, error) {
	return listPage(ctx, db, "ical_subscriptions", subscriptionColumns, workspaceID, cursor, limit, scanSubscription,
		func(s *calgate.Subscription) string { return s.ID })
}

func scanSubscriptions(rows *sql.Rows) ([]*calgate.Subscription, error) {
	return scanAll(rows, scanSubscription)
}

// UpdateSubscriptionSettings writes the settings of s and its validators.
func (db *DB) UpdateSubscriptionSettings(ctx context.Context, s *calgate.Subscription) error {
	q := `UPDATE ical_subscriptions SET name = ?, url = ?, kind = ?, resource = ?, poll_seconds = ?, next_poll_at = ?,
		etag = ?, last_modified = ?, updated_at = ? WHERE workspace_id = ? AND id = ?`
	res, err := db.w.ExecContext(ctx, db.d.rebind(q), s.Name, s.URL, string(s.Kind), s.Resource, int64(s.PollInterval/time.Second),
		dbTime(s.NextPollAt), s.ETag, s.LastModified, dbTime(s.UpdatedAt), s.WorkspaceID, s.ID)
	return subscriptionRow(res, err, "update subscription "+s.ID)
}

// RecordPoll writes the outcome of a poll.
func (db *DB) RecordPoll(ctx context.Context, s *calgate.Subscription) error {
	result, err := json.Marshal(s.LastResult)
	if err != nil {
		return fmt.Errorf("store: record poll %s: %w", s.ID, err)
	}
	// The reason and the validators come from the feed's server.
	s.LastError, s.ETag, s.LastModified = calgate.StorableText(s.LastError), calgate.StorableText(s.ETag), calgate.StorableText(s.LastModified)
	q := `UPDATE ical_subscriptions SET state = ?, last_error = ?, etag = ?, last_modified = ?, last_polled_at = ?,
		last_success_at = ?, last_result = ?, next_poll_at = ? WHERE workspace_id = ? AND id = ?`
	res, err := db.w.ExecContext(ctx, db.d.rebind(q), s.State, s.LastError, s.ETag, s.LastModified, nullTime(s.LastPolledAt),
		nullTime(s.LastSuccessAt), string(result), dbTime(s.NextPollAt), s.WorkspaceID, s.ID)
	return subscriptionRow(res, err, "record poll "+s.ID)
}

// DeleteSubscription removes a subscription (not its entries).
func (db *DB) DeleteSubscription(ctx context.Context, workspaceID, id string) error {
	res, err := db.w.ExecContext(ctx, db.d.rebind(`DELETE FROM ical_subscriptions WHERE workspace_id = ? AND id = ?`), workspaceID, id)
	return subscriptionRow(res, err, "delete subscription "+id)
}

// ClaimDueSubscriptions claims the subscriptions due at now by moving
// their next poll to leaseUntil: of several workers sweeping at once one
// gets each, and a poll lost with the queue comes due again then. The poll
// itself schedules the next one (RecordPoll). The claimed subscriptions
// keep the due time they were claimed at in NextPollAt.
func (db *DB) ClaimDueSubscriptions(ctx context.Context, now, leaseUntil time.Time, limit int) ([]*calgate.Subscription, error) {
	list, err := claimDue(ctx, db, "ical_subscriptions", "next_poll_at", subscriptionColumns, now, leaseUntil, limit, scanSubscription,
		func(s *calgate.Subscription) *time.Time { return &s.NextPollAt })
	if err != nil {
		return nil, fmt.Errorf("store: claim due subscriptions: %w", err)
	}
	return list, nil
}

// subscriptionRow turns the result of a write that must touch exactly one row into
// an error: ErrNotFound when it touched none.
func subscriptionRow(res sql.Result, err error, what string) error {
	if err != nil {
		return fmt.Errorf("store: %s: %w", what, err)
	}
	return affectedOne(res, what)
}
