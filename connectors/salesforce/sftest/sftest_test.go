package sftest

import (
	"net/http"
	"strings"
	"testing"

	"github.com/calgate/calgate/connectors/connectorstest"
)

// TestFakeRefusesWhatSalesforceRefuses checks the fake itself: what the
// connector's tests rely on it to refuse.
func TestFakeRefusesWhatSalesforceRefuses(t *testing.T) {
	s := Start(t, Options{DailyLimit: 5})
	tok := s.IssueAccessToken()
	call := func(method, path, token, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, s.InstanceURL()+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		return connectorstest.Call(t, req)
	}
	for _, tc := range []struct {
		name, method, path, token, body string
		status                          int
		want                            string
	}{
		{"expired session", "POST", "/services/data/v62.0/sobjects/Event", "00D!expired", `{}`, 401, "INVALID_SESSION_ID"},
		{"unknown version", "POST", "/services/data/v30.0/sobjects/Event", tok, `{}`, 404, "NOT_FOUND"},
		{"a field the object does not have", "PATCH", "/services/data/v62.0/composite/sobjects/Contact/calgate_Customer_Key__c", tok,
			`{"allOrNone":false,"records":[{"attributes":{"type":"Contact"},"calgate_Customer_Key__c":"a@example.com","LastName":"A","Colour__c":"red"}]}`, 400, "No such column 'Colour__c' on sobject of type Contact"},
		{"plain create", "POST", "/services/data/v62.0/sobjects/Event", tok,
			`{"calgate_Entry_Id__c":"ent_1","Subject":"One","StartDateTime":"2026-05-04T07:00:00.000Z","EndDateTime":"2026-05-04T08:00:00.000Z"}`, 201, `"success":true`},
		{"a duplicate on a plain create", "POST", "/services/data/v62.0/sobjects/Event", tok,
			`{"calgate_Entry_Id__c":"ent_1","Subject":"Two","StartDateTime":"2026-05-04T07:00:00.000Z","EndDateTime":"2026-05-04T08:00:00.000Z"}`, 400, "DUPLICATE_VALUE"},
		{"a missing LastName", "PATCH", "/services/data/v62.0/composite/sobjects/Contact/calgate_Customer_Key__c", tok,
			`{"allOrNone":false,"records":[{"attributes":{"type":"Contact"},"calgate_Customer_Key__c":"b@example.com"}]}`, 200, "REQUIRED_FIELD_MISSING"},
		{"not an external id field", "PATCH", "/services/data/v62.0/composite/sobjects/Contact/Email", tok,
			`{"allOrNone":false,"records":[]}`, 404, "Provided external ID field does not exist"},
		{"the day's requests spent", "DELETE", "/services/data/v62.0/composite/sobjects?ids=00U1", tok, ``, 403, "REQUEST_LIMIT_EXCEEDED"},
	} {
		status, body := call(tc.method, tc.path, tc.token, tc.body)
		if status != tc.status || !strings.Contains(body, tc.want) {
			t.Errorf("%s: %d %s, want %d with %q", tc.name, status, body, tc.status, tc.want)
		}
	}
	if s.Violations() != 1 {
		t.Errorf("%d violations", s.Violations())
	}
}
