package quickbooks_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/url"
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
	connectorstest.BenchmarkPushes(b, func(b *testing.B) (*connectorstest.Harness, *calgate.Connector) {
		h, _, c := setup(b, "sqlite", qbotest.Options{NoLimit: true}, nil, mapping, nil)
		// The customer exists, as it does after the first booking.
		h.Push(b, c.ID, h.Entry(b, c.ID, connectorstest.Reservation("warm-up", "Booking")).ID)
		return h, c
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
