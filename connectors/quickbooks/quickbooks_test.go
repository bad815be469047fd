package quickbooks_test

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
	"github.com/calgate/calgate/connectors/quickbooks"
	"github.com/calgate/calgate/connectors/quickbooks/qbotest"
)

// setup starts a fake company and a connected QuickBooks connector on the
// engine's database.
func setup(t testing.TB, engine string, o qbotest.Options, limits *connectors.Limits, mapping string, configure func(*connectors.Options)) (*connectorstest.Harness, *qbotest.Server, *calgate.Connector) {
	t.Helper()
	o.RedirectURI = connectorstest.RedirectURI
	qb := qbotest.Start(t, o)
	h := connectorstest.Open(t, engine, configure)
	h.Service.Add(quickbooks.New(quickbooks.Config{ClientID: qb.Options().ClientID, ClientSecret: qb.Options().ClientSecret,
		AuthURL: qb.AuthURL(), TokenURL: qb.TokenURL(), APIURL: qb.APIURL(), Limits: limits, NoLimits: o.NoLimit}))
	c := h.Connect(t, connectorstest.Input(quickbooks.Type, mapping))
	return h, qb, c
}

func documentsOf(qb *qbotest.Server, entryID string) []qbotest.Invoice {
	var out []qbotest.Invoice
	for _, d := range qb.Documents() {
		if strings.Contains(d.PrivateNote, entryID) {
			out = append(out, d)
		}
	}
	return out
}

func TestKilledWorkerCreatesNoDuplicate(t *testing.T) {
	for _, engine := range connectorstest.Engines {
		t.Run(engine, func(t *testing.T) {
			h, qb, c := setup(t, engine, qbotest.Options{}, nil, `{"item_id":"1"}`, nil)
			e := h.Entry(t, c.ID, connectorstest.Reservation("r1", "First"))

			// The company creates the invoice, then the worker dies before
			// it reads the answer.
			h.LoseAnswer(t, qb, "create invoice", c.ID, e.ID)
			if l := h.Link(t, c.ID, e.ID); l.RemoteID != "" || l.CreateKey == "" || !l.Owed() {
				t.Fatalf("after the lost answer: %+v", l)
			}
			// The entry changes before the push is made again.
			e = h.Entry(t, c.ID, connectorstest.Reservation("r1", "Second"))
			h.Push(t, c.ID, e.ID)

			docs := documentsOf(qb, e.ID)
			if len(docs) != 1 || qb.Count("create invoice") != 1 || qb.Count("replay") == 0 {
				t.Fatalf("documents %+v, %d creates, %d replays", docs, qb.Count("create invoice"), qb.Count("replay"))
			}
			if !strings.Contains(docs[0].Description, "Second") {
				t.Fatalf("the invoice is not brought up to date: %+v", docs[0])
			}
			if l := h.Link(t, c.ID, e.ID); l.RemoteID != docs[0].ID || l.CreateKey != "" || l.Owed() {
				t.Fatalf("link: %+v", l)
			}
		})
	}
}

func TestSweepPushesWorkLostFromTheQueue(t *testing.T) {
	for _, engine := range connectorstest.Engines {
		t.Run(engine, func(t *testing.T) {
			h, qb, c := setup(t, engine, qbotest.Options{}, nil, `{"item_id":"1"}`, func(o *connectors.Options) {
				o.SweepInterval = time.Millisecond
			})
			ctx := context.Background()
			// Two owed pushes whose jobs never ran; another worker holds one.
			lost := h.Entry(t, c.ID, connectorstest.Reservation("r1", "Lost"))
			held := h.Entry(t, c.ID, connectorstest.Reservation("r2", "Held"))
			if _, err := h.DB.ClaimConnectorLink(ctx, c.ID, held.ID, "other-worker", time.Now(), time.Now().Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			time.Sleep(5 * time.Millisecond)
			if err := h.Service.Sweep(ctx); err != nil {
				t.Fatal(err)
			}
			jobs := h.Jobs.Take()
			if len(jobs) != 1 || jobs[0].Type != connectors.JobPush || !strings.Contains(string(jobs[0].Payload), lost.ID) {
				t.Fatalf("swept jobs: %+v", jobs)
			}
			// A second sweep finds the push claimed.
			if err := h.Service.Sweep(ctx); err != nil || len(h.Jobs.Take()) != 0 {
				t.Fatalf("a claimed push was swept twice (%v)", err)
			}
			var job struct{ C, E, T string }
			_ = json.Unmarshal(jobs[0].Payload, &job)
			if _, err := h.Service.Push(ctx, job.C, job.E, job.T); err != nil {
				t.Fatal(err)
			}
			if len(documentsOf(qb, lost.ID)) != 1 || len(documentsOf(qb, held.ID)) != 0 {
				t.Fatalf("documents: %+v", qb.Documents())
			}
		})
	}
}

func TestRateLimitsAreNeverExceeded(t *testing.T) {
	limits := &connectors.Limits{Windows: []connectors.Window{{Calls: 10, Per: 2 * time.Second}}, Concurrent: 2}
	h, qb, c := setup(t, "sqlite", qbotest.Options{Limit: 10, Window: 2 * time.Second, Concurrent: 2}, limits, `{"item_id":"1"}`, nil)
	var entries []*calgate.Entry
	for i := range 12 {
		entries = append(entries, h.Entry(t, c.ID, connectorstest.Reservation("r"+string(rune('a'+i)), "Booking")))
	}
	var wg sync.WaitGroup
	work := make(chan string)
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id := range work {
				h.Push(t, c.ID, id)
			}
		}()
	}
	for _, e := range entries {
		work <- e.ID
	}
	close(work)
	wg.Wait()
	qb.CheckNoViolations(t)
	for _, e := range entries {
		if len(documentsOf(qb, e.ID)) != 1 {
			t.Fatalf("entry %s has %d documents", e.ID, len(documentsOf(qb, e.ID)))
		}
	}
}

func TestAnEditAtQuickBooksIsOverwrittenWithTheCurrentSyncToken(t *testing.T) {
	h, qb, c := setup(t, "sqlite", qbotest.Options{}, nil, `{"item_id":"1","unit_price":12}`, nil)
	e := h.Entry(t, c.ID, connectorstest.Reservation("r1", "Original"))
	h.Push(t, c.ID, e.ID)
	doc := documentsOf(qb, e.ID)[0]
	qb.EditDocument(doc.ID, "typed in QuickBooks")
	e = h.Entry(t, c.ID, connectorstest.Reservation("r1", "Changed"))
	h.Push(t, c.ID, e.ID)
	docs := documentsOf(qb, e.ID)
	if len(docs) != 1 || !strings.Contains(docs[0].Description, "Changed") || docs[0].Total != 24 {
		t.Fatalf("documents: %+v", docs)
	}
	calls, _ := h.DB.ConnectorCalls(context.Background(), c.ID, calgate.ConnectorCallFilter{Limit: 100})
	stale := false
	for _, call := range calls {
		stale = stale || (call.StatusCode == 400 && strings.Contains(call.Error, "Stale Object Error"))
	}
	if !stale {
		t.Fatalf("the refused stale update is not in the log: %+v", calls)
	}
}

func TestSalesReceiptIsVoidedWithASparseUpdate(t *testing.T) {
	h, qb, c := setup(t, "sqlite", qbotest.Options{}, nil, `{"item_id":"1","document":"sales_receipt"}`, nil)
	fields := connectorstest.Reservation("r1", "Paid at the desk")
	e := h.Entry(t, c.ID, fields)
	h.Push(t, c.ID, e.ID)
	docs := documentsOf(qb, e.ID)
	if len(docs) != 1 || docs[0].Kind != "salesreceipt" || docs[0].Total != 51 {
		t.Fatalf("documents: %+v", docs)
	}
	fields["status"] = "cancelled"
	e = h.Entry(t, c.ID, fields)
	h.Push(t, c.ID, e.ID)
	if docs = documentsOf(qb, e.ID); !docs[0].Voided || qb.Count("void salesreceipt") != 1 {
		t.Fatalf("documents: %+v", docs)
	}
	// Confirmed again: a voided document stays voided, a new one is made.
	fields["status"] = "confirmed"
	e = h.Entry(t, c.ID, fields)
	h.Push(t, c.ID, e.ID)
	if docs = documentsOf(qb, e.ID); len(docs) != 2 {
		t.Fatalf("documents: %+v", docs)
	}
}

func TestMappingIsCheckedField(t *testing.T) {
	v := quickbooks.New(quickbooks.Config{})
	_, err := v.Mapping(json.RawMessage(`{"document":"bill","unit_price":-1}`))
	var ve *calgate.ValidationError
	if !errors.As(err, &ve) || len(ve.Errors) != 3 {
		t.Fatalf("Mapping = %v", err)
	}
	if _, err := v.Mapping(json.RawMessage(`{"item_id":"1","colour":"red"}`)); err == nil {
		t.Fatal("an unknown setting was accepted")
	}
	out, err := v.Mapping(json.RawMessage(`{"item_id":"7"}`))
	if err != nil || !strings.Contains(string(out), `"document":"invoice"`) || !strings.Contains(string(out), `"price_attribute":"price"`) {
		t.Fatalf("defaults: %s %v", out, err)
	}
}
