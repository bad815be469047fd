package xero_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/calgate/calgate"
	"github.com/calgate/calgate/connectors"
	"github.com/calgate/calgate/connectors/connectorstest"
	"github.com/calgate/calgate/connectors/xero"
	"github.com/calgate/calgate/connectors/xero/xerotest"
)

func setup(t testing.TB, engine string, o xerotest.Options, limits *connectors.Limits, mapping string) (*connectorstest.Harness, *xerotest.Server, *calgate.Connector) {
	t.Helper()
	o.RedirectURI = connectorstest.RedirectURI
	x := xerotest.Start(t, o)
	h := connectorstest.Open(t, engine, nil)
	h.Service.Add(xero.New(xero.Config{AppConfig: connectors.AppConfig{ClientID: x.Options().ClientID, ClientSecret: x.Options().ClientSecret,
		AuthURL: x.AuthURL(), TokenURL: x.TokenURL(), APIURL: x.APIURL(), Limits: limits, NoLimits: o.NoLimit}}))
	c := h.Connect(t, connectorstest.Input(xero.Type, mapping))
	if c.Account != x.Options().TenantID || c.AccountName != x.Options().TenantName {
		t.Fatalf("connected to %q (%q)", c.Account, c.AccountName)
	}
	return h, x, c
}

func invoicesOf(x *xerotest.Server, ref string) []xerotest.Invoice {
	var out []xerotest.Invoice
	for _, inv := range x.Invoices() {
		if inv.Reference == ref {
			out = append(out, inv)
		}
	}
	return out
}

func TestDraftIsDeletedAndAuthorisedIsVoided(t *testing.T) {
	for _, engine := range connectorstest.Engines {
		t.Run(engine, func(t *testing.T) {
			h, x, c := setup(t, engine, xerotest.Options{}, nil, `{"account_code":"200"}`)
			fields := connectorstest.Reservation("r1", "Draft booking")
			e := h.Entry(t, c.ID, fields)
			h.Push(t, c.ID, e.ID)
			inv := invoicesOf(x, "r1")
			if len(inv) != 1 || inv[0].Status != "DRAFT" || inv[0].ContactName != "Ada Lovelace" || inv[0].Quantity != 2 ||
				inv[0].UnitAmount != 25.5 || inv[0].AccountCode != "200" || inv[0].Date != "2026-05-04" || inv[0].DueDate != "2026-05-18" {
				t.Fatalf("invoice: %+v", inv)
			}
			fields["title"] = "Draft booking, moved"
			e = h.Entry(t, c.ID, fields)
			h.Push(t, c.ID, e.ID)
			fields["status"] = "cancelled"
			e = h.Entry(t, c.ID, fields)
			h.Push(t, c.ID, e.ID)
			if inv = invoicesOf(x, "r1"); len(inv) != 1 || inv[0].Status != "DELETED" || !strings.Contains(inv[0].Description, "moved") {
				t.Fatalf("after cancelling a draft: %+v", inv)
			}

			// Someone approves the next draft in Xero: cancelling voids it.
			fields = connectorstest.Reservation("r2", "Approved in Xero")
			e = h.Entry(t, c.ID, fields)
			h.Push(t, c.ID, e.ID)
			x.SetStatus(invoicesOf(x, "r2")[0].ID, "AUTHORISED")
			fields["status"] = "cancelled"
			e = h.Entry(t, c.ID, fields)
			h.Push(t, c.ID, e.ID)
			if inv = invoicesOf(x, "r2"); inv[0].Status != "VOIDED" {
				t.Fatalf("after cancelling an approved invoice: %+v", inv)
			}
			for op, want := range map[string]int{"create invoice": 2, "update invoice": 1, "delete invoice": 1, "void invoice": 1, "create contact": 1} {
				if got := x.Count(op); got != want {
					t.Errorf("%s: %d, want %d", op, got, want)
				}
			}
			if x.CallsWithoutTenant() != 0 {
				t.Error("calls without xero-tenant-id")
			}
		})
	}
}

func TestAuthorisedMappingCreatesAuthorisedInvoices(t *testing.T) {
	h, x, c := setup(t, "sqlite", xerotest.Options{}, nil, `{"account_code":"260","status":"AUTHORISED","unit_price":99,"due_days":30}`)
	fields := connectorstest.Reservation("r1", "Approved")
	e := h.Entry(t, c.ID, fields)
	h.Push(t, c.ID, e.ID)
	fields["status"] = "cancelled"
	e = h.Entry(t, c.ID, fields)
	h.Push(t, c.ID, e.ID)
	inv := invoicesOf(x, "r1")
	if len(inv) != 1 || inv[0].Status != "VOIDED" || inv[0].UnitAmount != 99 || inv[0].DueDate != "2026-06-03" || x.Count("void invoice") != 1 {
		t.Fatalf("invoice: %+v", inv)
	}
}

func TestKilledWorkerCreatesNoDuplicate(t *testing.T) {
	for _, engine := range connectorstest.Engines {
		t.Run(engine, func(t *testing.T) {
			h, x, c := setup(t, engine, xerotest.Options{}, nil, `{"account_code":"200"}`)
			e := h.Entry(t, c.ID, connectorstest.Reservation("r1", "First"))
			h.LoseAnswer(t, x, "create invoice", c.ID, e.ID)
			e = h.Entry(t, c.ID, connectorstest.Reservation("r1", "Second"))
			h.Push(t, c.ID, e.ID)
			inv := invoicesOf(x, "r1")
			if len(inv) != 1 || x.Count("create invoice") != 1 || !strings.Contains(inv[0].Description, "Second") {
				t.Fatalf("invoices %+v, %d creates", inv, x.Count("create invoice"))
			}
			if l := h.Link(t, c.ID, e.ID); l.RemoteID != inv[0].ID || l.Owed() {
				t.Fatalf("link: %+v", l)
			}
		})
	}
}

func TestRotatingRefreshTokenAndReauth(t *testing.T) {
	h, x, c := setup(t, "sqlite", xerotest.Options{}, nil, `{"account_code":"200"}`)
	fields := connectorstest.Reservation("r1", "v1")
	e := h.Entry(t, c.ID, fields)
	h.Push(t, c.ID, e.ID)
	for i := range 3 {
		// Each refresh spends the refresh token; the next one must be stored.
		x.ExpireAccessTokens()
		fields["title"] = "v" + string(rune('2'+i))
		e = h.Entry(t, c.ID, fields)
		h.Push(t, c.ID, e.ID)
	}
	if x.Count("refresh token") != 3 || !strings.Contains(invoicesOf(x, "r1")[0].Description, "v4") {
		t.Fatalf("%d refreshes, %+v", x.Count("refresh token"), invoicesOf(x, "r1"))
	}
	x.RevokeRefreshTokens()
	fields["title"] = "v5"
	e = h.Entry(t, c.ID, fields)
	h.Push(t, c.ID, e.ID)
	cur, _, err := h.Service.Connector(context.Background(), h.Workspace.ID, c.ID)
	if err != nil || cur.State != calgate.ConnectorStateNeedsReauth {
		t.Fatalf("state %q (%v)", cur.State, err)
	}
	if _, err := h.DB.Sequence(context.Background()); err != nil {
		t.Fatal(err)
	}
	evs, _ := h.DB.Events(context.Background(), h.Workspace.ID, calgate.EventFilter{Types: []calgate.EventType{calgate.EventConnectorDisconnected}, Limit: 10})
	if len(evs) != 1 {
		t.Fatalf("%d connector.disconnected events", len(evs))
	}
	if l := h.Link(t, c.ID, e.ID); !l.Owed() {
		t.Fatalf("the change was dropped: %+v", l)
	}
}

func TestXeroRateLimitsAreNeverExceeded(t *testing.T) {
	limits := &connectors.Limits{Windows: []connectors.Window{{Calls: 12, Per: 2 * time.Second}, {Calls: 40, Per: 24 * time.Hour}}, Concurrent: 2}
	h, x, c := setup(t, "sqlite", xerotest.Options{PerMinute: 12, Minute: 2 * time.Second, PerDay: 40, Concurrent: 2}, limits, `{"account_code":"200"}`)
	var entries []*calgate.Entry
	for i := range 10 {
		entries = append(entries, h.Entry(t, c.ID, connectorstest.Reservation("r"+string(rune('a'+i)), "Booking")))
	}
	var wg sync.WaitGroup
	for _, e := range entries {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h.Push(t, c.ID, e.ID)
		}()
	}
	wg.Wait()
	x.CheckNoViolations(t)
	if n := len(x.Invoices()); n != 10 {
		t.Fatalf("%d invoices", n)
	}
}

func TestXeroMappingIsChecked(t *testing.T) {
	v := xero.New(xero.Config{})
	_, err := v.Mapping(json.RawMessage(`{"status":"PAID","due_days":-1}`))
	var ve *calgate.ValidationError
	if !errors.As(err, &ve) || len(ve.Errors) != 3 {
		t.Fatalf("Mapping = %v", err)
	}
}
