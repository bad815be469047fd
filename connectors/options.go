package connectors

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/calgate/calgate"
)

// Lister is an application whose account offers things a connector's
// mapping picks from once it is connected (the calendars of a calendar
// account).
type Lister interface {
	// Choices lists them.
	Choices(ctx context.Context, c *Client) ([]Choice, error)
}

// Choice is one thing a mapping can pick.
type Choice = calgate.ConnectorChoice

// Preparer is an application whose mapping names remote things that must
// exist before anything is pushed (the calendar entries go to), and whose
// remote objects are views of the connector's selection: a change of the
// filter or the mapping rewrites them all.
type Preparer interface {
	// Prepare makes what the mapping names exist at the account, creating
	// what it asks to create, and returns the mapping with the remote ids
	// filled in. A setting the account refuses is a
	// *calgate.ValidationError naming it. Prepare runs when the connector
	// is connected and when its mapping or filter changes while it is.
	Prepare(ctx context.Context, c *Client, mapping json.RawMessage) (json.RawMessage, error)
}

// Choices lists what a connected connector's account offers its mapping.
func (s *Service) Choices(ctx context.Context, workspaceID, id string) ([]Choice, error) {
	c, err := s.d.Store.Connector(ctx, workspaceID, id)
	if err != nil {
		return nil, err
	}
	vendor := s.vendors[c.Type]
	lister, ok := vendor.(Lister)
	if !ok {
		return nil, fmt.Errorf("connector %s (%s) has nothing to choose from: %w", id, c.Type, calgate.ErrConflict)
	}
	if c.State != calgate.ConnectorStateConnected && c.State != calgate.ConnectorStatePaused {
		return nil, fmt.Errorf("connector %s is %s; connect it first: %w", id, c.State, calgate.ErrConflict)
	}
	cl := s.newClient(c, vendor, "")
	list, err := lister.Choices(ctx, cl)
	cl.flush(ctx)
	if errors.Is(err, ErrReauth) {
		s.disconnect(ctx, c, err.Error())
		return nil, fmt.Errorf("connector %s: %v: %w", id, err, calgate.ErrConflict)
	}
	if err != nil {
		return nil, fmt.Errorf("connector %s: list choices: %w", id, err)
	}
	return list, nil
}

// prepare runs the application's Prepare on c's mapping, if it has one.
func (s *Service) prepare(ctx context.Context, c *calgate.Connector, vendor Vendor) error {
	p, ok := vendor.(Preparer)
	if !ok {
		return nil
	}
	cl := s.newClient(c, vendor, "")
	m, err := p.Prepare(ctx, cl, c.Mapping)
	cl.flush(ctx)
	if err != nil {
		return err
	}
	c.Mapping = m
	return nil
}
