package calgate

import (
	"context"
	"time"
)

// ConnectorReconcile is the periodic reconciliation of a connector whose
// application can say what changed on its side (a live calendar): when the
// next run is due, who holds the run now, where the last run ended and
// what the runs found.
//
// A run is claimed by moving DueAt forward by a lease and setting
// LeaseToken; the finished run clears the token and sets the next time.
// So of several workers one reconciles a connector at a time, and a run
// lost with its worker is claimed again once its lease has passed.
type ConnectorReconcile struct {
	ConnectorID string
	DueAt       time.Time
	LeaseToken  string
	// Cursor is the application's token of where the last run ended (a
	// sync token, a delta link); empty: the next run lists everything.
	Cursor string
	// Conflicts counts the remote objects the runs found changed or
	// removed by someone at the application and restored.
	Conflicts int64
	LastRunAt *time.Time
	LastError string
}

// ConnectorRepair is one entry a reconciliation owes again: its remote
// object was changed or removed at the application. RemoteState replaces
// the link's remote state (what the push will find there).
type ConnectorRepair struct {
	EntryID     string
	RemoteState string
}

// ConnectorReconcileStore keeps the reconciliation state of connectors.
type ConnectorReconcileStore interface {
	// ScheduleConnectorReconcile makes a connector's reconciliation due at
	// at: it creates the record, or moves an unheld one's time earlier.
	ScheduleConnectorReconcile(ctx context.Context, connectorID string, at time.Time) error
	// ConnectorReconcile returns a connector's record; ErrNotFound when it
	// has none.
	ConnectorReconcile(ctx context.Context, connectorID string) (*ConnectorReconcile, error)
	// ClaimDueConnectorReconciles claims, in one statement, up to limit
	// records of connected connectors that are due at now, moving their
	// time to leaseUntil and giving each the token.
	ClaimDueConnectorReconciles(ctx context.Context, now, leaseUntil time.Time, token string, limit int) ([]*ConnectorReconcile, error)
	// FinishConnectorReconcile records the end of the run that token holds:
	// the cursor to go on from, the next time, the error (empty on
	// success) and the conflicts found. It reports false when the run no
	// longer held the record (its lease ran out and another run took it).
	FinishConnectorReconcile(ctx context.Context, connectorID, token, cursor string, next, at time.Time, lastError string, conflicts int) (bool, error)
	// ConnectorLinks lists every link of a connector.
	ConnectorLinks(ctx context.Context, connectorID string) ([]*ConnectorLink, error)
	// RepairConnectorLinks owes the entries again from scratch (pushed
	// version 0, due at at, attempts reset) with their new remote state,
	// skipping links a push holds at now. It returns the entry ids it owed.
	RepairConnectorLinks(ctx context.Context, connectorID string, repairs []ConnectorRepair, at time.Time) ([]string, error)
}

// ConnectorChoice is one thing a connected account offers a connector's
// mapping (one of its calendars).
type ConnectorChoice struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Field is the mapping setting that takes ID ("mapping.calendar_id").
	Field string `json:"field"`
	// Primary marks the account's main one (the primary calendar).
	Primary bool `json:"primary"`
	// Writable reports whether calgate may write into it.
	Writable bool `json:"writable"`
	// Selected marks the one the connector's mapping names now.
	Selected bool `json:"selected"`
}
