package calgate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// DueRow is a row a sweep claimed because it was due (a scheduled pull, a
// subscription's poll): its workspace, its id and the time it was due. Its
// JSON form is the payload of the job that handles it.
type DueRow struct {
	WorkspaceID string    `json:"workspace_id"`
	ID          string    `json:"id"`
	Due         time.Time `json:"-"`
}

// DueRow names a pull by the time its run was due.
func (p *PullImport) DueRow() DueRow {
	return DueRow{WorkspaceID: p.WorkspaceID, ID: p.ID, Due: p.NextRunAt}
}

// DueRow names a subscription by the time its poll was due.
func (s *Subscription) DueRow() DueRow {
	return DueRow{WorkspaceID: s.WorkspaceID, ID: s.ID, Due: s.NextPollAt}
}

// ParseDueRow reads the payload of a job EnqueueDue made.
func ParseDueRow(payload []byte) (DueRow, error) {
	var d DueRow
	if err := json.Unmarshal(payload, &d); err != nil || d.ID == "" {
		return d, fmt.Errorf("job payload %q names no row: %v", payload, err)
	}
	return d, nil
}

// EnqueueDue hands the rows a sweep claimed to the queue: one job of
// jobType per row, with the row's DueRow as payload and its id and due time
// as job id, so that a second sweep of the same due time makes no second
// job. rows and claimErr are what the store's claim returned; row names
// each. It tries every row and returns every error, the claim's first.
func EnqueueDue[T any](ctx context.Context, jobs Jobs, jobType string, rows []T, claimErr error, row func(T) DueRow) error {
	var errs []error
	if claimErr != nil {
		errs = append(errs, fmt.Errorf("claim due %s: %w", jobType, claimErr))
	}
	for _, r := range rows {
		d := row(r)
		payload, err := json.Marshal(d)
		if err != nil {
			return fmt.Errorf("%s job of %s: %w", jobType, d.ID, err)
		}
		job := Job{Type: jobType, Payload: payload, ID: fmt.Sprintf("%s:%d", d.ID, d.Due.Unix())}
		if err := jobs.Enqueue(ctx, job); err != nil {
			errs = append(errs, fmt.Errorf("enqueue %s of %s: %w", jobType, d.ID, err))
		}
	}
	return errors.Join(errs...)
}
