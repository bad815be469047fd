package console

import (
	"net/http"
	"strings"
	"time"

	calgate "github.com/calgate/calgate"
)

// callsPerPage is how many remote calls a connector's page lists.
const callsPerPage = 50

type connectorsData struct {
	Connectors []*calgate.Connector
}

// connectors lists the workspace's connectors with their state.
func (c *Console) connectors(w http.ResponseWriter, r *http.Request, v *visit) {
	list, err := c.Connectors.Connectors(r.Context(), v.workspaceID())
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	c.render(w, r, http.StatusOK, "connectors", v, connectorsData{Connectors: list})
}

type connectorData struct {
	Connector *calgate.Connector
	Backlog   calgate.ConnectorBacklog
	Calls     []callRow
	// AuthorizeURL, after *Connect*, is where the user gives consent.
	AuthorizeURL string
}

type callRow struct {
	At                         time.Time
	Operation, Method, EntryID string
	Status                     string
	Duration                   string
	Error                      string
}

func (c *Console) connector(w http.ResponseWriter, r *http.Request, v *visit) {
	c.showConnector(w, r, v, "")
}

func (c *Console) showConnector(w http.ResponseWriter, r *http.Request, v *visit, authorizeURL string) {
	ctx, ws, id := r.Context(), v.workspaceID(), r.PathValue("id")
	conn, backlog, err := c.Connectors.Connector(ctx, ws, id)
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	calls, err := c.Connectors.Log(ctx, ws, id, calgate.ConnectorCallFilter{Limit: callsPerPage})
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	d := connectorData{Connector: conn, Backlog: backlog, AuthorizeURL: authorizeURL}
	for _, call := range calls {
		status := "no answer"
		if call.StatusCode > 0 {
			status = itoa(call.StatusCode)
		}
		d.Calls = append(d.Calls, callRow{At: call.At, Operation: call.Operation, Method: call.Method, EntryID: call.EntryID,
			Status: status, Duration: call.Duration.Round(time.Millisecond).String(), Error: call.Error})
	}
	c.render(w, r, http.StatusOK, "connector", v, d)
}

// authorizeConnector starts the OAuth flow and shows the link to the
// application's consent page. The page links there rather than
// redirecting: the Content-Security-Policy lets forms lead only to the
// console itself.
func (c *Console) authorizeConnector(w http.ResponseWriter, r *http.Request, v *visit) {
	_, authURL, err := c.Connectors.Authorize(r.Context(), v.workspaceID(), r.PathValue("id"))
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	if !strings.HasPrefix(authURL, "https://") && !strings.HasPrefix(authURL, "http://") {
		authURL = ""
	}
	w.Header().Set("Cache-Control", "no-store")
	c.showConnector(w, r, v, authURL)
}

// failingConnectors adds connectors that need to be connected again or
// whose last call failed.
func (c *Console) failingConnectors(r *http.Request, ws string, d *healthData) error {
	if c.Connectors == nil {
		return nil
	}
	list, err := c.Connectors.Connectors(r.Context(), ws)
	if err != nil {
		return err
	}
	for _, conn := range list {
		if conn.State == calgate.ConnectorStateNeedsReauth || conn.LastError != "" {
			name := conn.Type
			if conn.Name != "" {
				name = conn.Name + " (" + conn.Type + ")"
			}
			d.Failing = append(d.Failing, failing{What: "Connector", Name: name, State: conn.State, Error: conn.LastError,
				Href: "/console/connectors/" + conn.ID})
		}
	}
	return nil
}
