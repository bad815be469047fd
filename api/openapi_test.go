package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/calgate/calgate/api"
)

// loadOpenAPI loads the server's document with kin-openapi and validates
// it.
func loadOpenAPI(t *testing.T, srv *api.Server) *openapi3.T {
	t.Helper()
	data, err := json.Marshal(srv.OpenAPI())
	if err != nil {
		t.Fatal(err)
	}
	doc, err := openapi3.NewLoader().LoadFromData(data)
	if err != nil {
		t.Fatalf("load the OpenAPI document: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("the OpenAPI document is invalid: %v", err)
	}
	return doc
}

// checkSchema validates a JSON answer against a component schema.
func checkSchema(t *testing.T, doc *openapi3.T, name, what string, body []byte) {
	t.Helper()
	ref := doc.Components.Schemas[name]
	if ref == nil || ref.Value == nil {
		t.Errorf("%s: no schema %s", what, name)
		return
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Errorf("%s: %v", what, err)
		return
	}
	if err := ref.Value.VisitJSON(v, openapi3.MultiErrors()); err != nil {
		t.Errorf("%s: the answer does not match schema %s: %v\n%s", what, name, err, body)
	}
}

func TestOpenAPIDocumentIsValidAndComplete(t *testing.T) {
	g := newGateway(t)
	doc := loadOpenAPI(t, g.srv)
	if len(doc.Servers) == 0 || doc.Servers[0].URL != "https://calgate.example.com" {
		t.Errorf("servers = %v", doc.Servers)
	}
	// Every route the engine serves is documented, with the security it
	// has: none on public routes, a token on the others.
	public := map[string]bool{}
	for _, r := range g.srv.Routes() {
		public[r.Method+" "+r.Path] = r.Public
	}
	routes := g.srv.GinRoutes()
	if len(routes) < 100 {
		t.Fatalf("only %d routes served", len(routes))
	}
	for _, r := range routes {
		item := doc.Paths.Find(api.OpenAPIPath(r.Path))
		if item == nil || item.GetOperation(r.Method) == nil {
			t.Errorf("%s %s is not in the OpenAPI document", r.Method, r.Path)
			continue
		}
		op := item.GetOperation(r.Method)
		isPublic := public[r.Method+" "+strings.TrimSuffix(r.Path, ".csv")]
		switch {
		case op.Security == nil:
			t.Errorf("%s %s has no security requirement", r.Method, r.Path)
		case isPublic && len(*op.Security) != 0:
			t.Errorf("%s %s is public but asks for %v", r.Method, r.Path, *op.Security)
		case !isPublic && len(*op.Security) == 0:
			t.Errorf("%s %s needs a token but says none", r.Method, r.Path)
		}
	}
	// Every problem type is in the Problem schema.
	types := doc.Components.Schemas["Problem"].Value.Properties["type"].Value.Enum
	for _, pt := range api.ProblemTypes() {
		if !slices.Contains(types, any(pt)) {
			t.Errorf("problem type %s is not in the document", pt)
		}
	}
	// No schema requires a field it does not define.
	for name, s := range doc.Components.Schemas {
		checkRequired(t, name, s.Value)
	}
	// Every operation's request and response schemas resolve.
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if op.Responses.Value("4XX") == nil {
				t.Errorf("%s %s documents no problem answer", method, path)
			}
		}
	}
}

func checkRequired(t *testing.T, name string, s *openapi3.Schema) {
	t.Helper()
	if s == nil {
		return
	}
	for _, r := range s.Required {
		if _, ok := s.Properties[r]; !ok {
			t.Errorf("schema %s requires %s, which it does not define", name, r)
		}
	}
	for prop, p := range s.Properties {
		checkRequired(t, name+"."+prop, p.Value)
	}
	if s.Items != nil {
		checkRequired(t, name+"[]", s.Items.Value)
	}
}

func TestPublicRoutesAreReachableWithoutAToken(t *testing.T) {
	g := newGateway(t)
	for _, path := range []string{"/healthz", "/readyz", "/openapi.json", "/metrics", "/feeds/tok.ics"} {
		if w := g.do(http.MethodGet, path, "", "Authorization", ""); w.Code != http.StatusOK {
			t.Errorf("GET %s without a token: %d", path, w.Code)
		}
	}
}
