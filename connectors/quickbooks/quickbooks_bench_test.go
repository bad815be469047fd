package quickbooks_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/calgate/calgate"
	"github.com/calgate/calgate/connectors/connectorstest"
	"github.com/calgate/calgate/connectors/quickbooks/qbotest"
)

// BenchmarkPush measures entry pushes into a local QuickBooks with its
// limits off: "connector" is the whole push (claim, read the entry, the
// customer query and the invoice create with their log, save the link) one
// at a time; "raw" is the same two HTTP calls made by a bare client; the
// difference of their ns/op is the connector's overhead per push.
// "connector-parallel" pushes from 8 goroutines.
func BenchmarkPush(b *testing.B) {
	const mapping = `{"item_id":"1","unit_price":10}`
	prepare := func(b *testing.B) (func(i int), func()) {
		h, _, c := setup(b, "sqlite", qbotest.Options{NoLimit: true}, nil, mapping, nil)
		entries := make([]*calgate.Entry, b.N)
		for i := range entries {
			entries[i] = h.Entry(b, c.ID, connectorstest.Reservation(fmt.Sprintf("r%d", i), "Booking"))
		}
		// The customer exists, as it does after the first booking.
		h.Push(b, c.ID, h.Entry(b, c.ID, connectorstest.Reservation("warm-up", "Booking")).ID)
		return func(i int) {
				if _, err := h.Service.Push(context.Background(), c.ID, entries[i].ID, ""); err != nil {
					b.Fatal(err)
				}
			}, func() {
				for _, e := range entries {
					if l := h.Link(b, c.ID, e.ID); l.Owed() {
						b.Fatalf("entry %s not pushed: %s", e.ID, l.LastError)
					}
				}
			}
	}
	b.Run("connector", func(b *testing.B) {
		push, check := prepare(b)
		b.ResetTimer()
		start := time.Now()
		for i := range b.N {
			push(i)
		}
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "pushes/s")
		b.StopTimer()
		check()
	})
	b.Run("connector-parallel", func(b *testing.B) {
		push, check := prepare(b)
		var next atomic.Int64
		b.ResetTimer()
		start := time.Now()
		b.SetParallelism(4) // 8 goroutines on 2 cores
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				push(int(next.Add(1) - 1))
			}
		})
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "pushes/s")
		b.StopTimer()
		check()
	})
	b.Run("raw", func(b *testing.B) {
		qb := qbotest.Start(b, qbotest.Options{NoLimit: true})
		token := qb.IssueAccessToken()
		cust := qb.AddCustomer("Ada Lovelace")
		base := qb.APIURL() + "/v3/company/" + qb.Options().Realm
		client := &http.Client{}
		call := func(method, u string, body []byte) {
			req, _ := http.NewRequest(method, u, bytes.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("Accept", "application/json")
			if body != nil {
				req.Header.Set("Content-Type", "application/json")
			}
			resp, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Fatalf("%s %s: %d", method, u, resp.StatusCode)
			}
		}
		query := base + "/query?" + url.Values{"query": {"select * from Customer where DisplayName = 'Ada Lovelace'"}, "minorversion": {"75"}}.Encode()
		b.ResetTimer()
		start := time.Now()
		for i := range b.N {
			call("GET", query, nil)
			body := fmt.Sprintf(`{"CustomerRef":{"value":%q},"Line":[{"DetailType":"SalesItemLineDetail","Amount":20,"Description":"Booking %d",`+
				`"SalesItemLineDetail":{"ItemRef":{"value":"1"},"Qty":2,"UnitPrice":10,"ServiceDate":"2026-05-04"}}],"PrivateNote":"raw %d"}`, cust, i, i)
			call("POST", base+"/invoice?minorversion=75&requestid="+fmt.Sprintf("raw-%d", i), []byte(body))
		}
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "pushes/s")
	})
}
