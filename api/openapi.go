package api

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	calgate "github.com/calgate/calgate"
)

// schema shorthands for the OpenAPI document.
type obj = map[string]any

func str(desc string) obj  { return obj{"type": "string", "description": desc} }
func strFmt(f string) obj  { return obj{"type": "string", "format": f} }
func ref(name string) obj  { return obj{"$ref": "#/components/schemas/" + name} }
func arrayOf(item obj) obj { return obj{"type": "array", "items": item} }
func object(props obj) obj { return obj{"type": "object", "properties": props} }
func listOf(name string) obj {
	return object(obj{"items": arrayOf(ref(name)), "next_cursor": str("cursor of the next page; empty at the end")})
}
func nullable(o obj) obj      { o["nullable"] = true; return o }
func enum(vals ...string) obj { return obj{"type": "string", "enum": vals} }

// AddSchemas adds component schemas for capability routes.
func (s *Server) AddSchemas(schemas map[string]any) {
	if s.schemas == nil {
		s.schemas = map[string]any{}
	}
	for k, v := range schemas {
		s.schemas[k] = v
	}
}

func coreSchemas() obj {
	problem := schemaOf[Problem]()
	problem["properties"].(obj)["type"] = obj{"type": "string", "enum": ProblemTypes(), "description": "the problem type, a urn:calgate:problem: URN"}
	bulkResult := operations(schemaOf[calgate.BulkResult]())
	s := obj{
		"Problem":      problem,
		"Health":       schemaOf[health](),
		"Patch":        obj{"type": "object", "description": "JSON merge patch (RFC 7386) of the entry's fields", "additionalProperties": true},
		"BulkResult":   bulkResult,
		"Workspace":    schemaOf[calgate.Workspace](),
		"Token":        schemaOf[calgate.Token](),
		"TokenRequest": schemaOf[tokenRequest](),
		"TokenCreated": schemaOf[tokenCreated](),
		"AuthTest":     schemaOf[authTestReply](),
		"Event":        schemaOf[calgate.EventWire](),
		"HistoryItem":  schemaOf[historyItem](),
	}
	for _, name := range []string{"Token", "Event", "HistoryItem"} {
		s["List_"+name] = listOf(name)
	}
	for _, k := range calgate.Kinds {
		name := "Entry_" + string(k)
		s[name] = entrySchema(k)
		s["List_"+name] = listOf(name)
		bulk := schemaOf[bulkRequest]()
		bulk["properties"].(obj)["items"] = obj{"type": "array", "maxItems": MaxBulkItems, "items": ref(name)}
		s["BulkRequest_"+string(k)] = bulk
	}
	return s
}

func eventTypes() []string {
	out := make([]string, len(calgate.AllEventTypes))
	for i, t := range calgate.AllEventTypes {
		out[i] = string(t)
	}
	return out
}

var ginParam = regexp.MustCompile(`[:*]([A-Za-z_]+)`)

// OpenAPIPath converts a gin pattern to an OpenAPI path.
func OpenAPIPath(p string) string { return ginParam.ReplaceAllString(p, "{$1}") }

// OpenAPI builds the OpenAPI 3 document from the route table.
func (s *Server) OpenAPI() map[string]any {
	schemas := coreSchemas()
	for k, v := range s.schemas {
		schemas[k] = v
	}
	paths := obj{}
	for _, r := range s.routes {
		p := OpenAPIPath(r.Path)
		item, _ := paths[p].(obj)
		if item == nil {
			item = obj{}
			paths[p] = item
		}
		op := obj{"summary": r.Summary, "tags": []string{r.Tag}, "operationId": strings.ToLower(r.Method) + strings.NewReplacer("/", "_", "{", "", "}", "", "-", "_", ".", "_").Replace(p)}
		params := []obj{}
		for _, m := range ginParam.FindAllStringSubmatch(r.Path, -1) {
			params = append(params, obj{"name": m[1], "in": "path", "required": true, "schema": obj{"type": "string"}})
		}
		for _, q := range r.Query {
			params = append(params, obj{"name": q, "in": "query", "schema": obj{"type": "string"}})
		}
		if len(params) > 0 {
			op["parameters"] = params
		}
		if r.Request != "" {
			op["requestBody"] = obj{"required": true, "content": obj{"application/json": obj{"schema": ref(r.Request)}}}
		}
		status := r.Status
		if status == 0 {
			status = http.StatusOK
		}
		ok := obj{"description": http.StatusText(status)}
		if r.Response != "" {
			ok["content"] = obj{"application/json": obj{"schema": ref(r.Response)}}
		}
		problem := obj{"description": "problem", "content": obj{problemContentType: obj{"schema": ref("Problem")}}}
		if r.isList() {
			ok["content"].(obj)[csvContentType] = obj{"schema": obj{"type": "string", "description": "the list as CSV (Accept: text/csv), every page; ?bom=true for Excel"}}
		}
		op["responses"] = obj{strconv.Itoa(status): ok, "4XX": problem, "5XX": problem}
		if r.Public {
			// No token: say so, rather than inherit a default.
			op["security"] = []obj{}
		} else {
			op["security"] = []obj{{"bearer": []string{}}, {"xAuthToken": []string{}}}
		}
		item[strings.ToLower(r.Method)] = op
		if r.isList() {
			csvOp := obj{}
			for k, v := range op {
				csvOp[k] = v
			}
			csvOp["summary"] = r.Summary + ", as CSV"
			csvOp["operationId"] = op["operationId"].(string) + "_csv"
			csvOp["responses"] = obj{strconv.Itoa(status): obj{"description": "CSV, RFC 4180", "content": obj{csvContentType: obj{"schema": obj{"type": "string"}}}},
				"4XX": problem, "5XX": problem}
			paths[OpenAPIPath(r.Path+".csv")] = obj{"get": csvOp}
		}
	}
	server := strings.TrimSuffix(s.PublicURL, "/")
	if server == "" {
		server = "/"
	}
	return obj{
		"openapi": "3.0.3",
		"info":    obj{"title": "calgate", "version": "1", "description": "Calendar and webhook synchronization gateway."},
		"servers": []obj{{"url": server, "description": "this gateway"}},
		"paths":   paths,
		"components": obj{
			"schemas": schemas,
			"securitySchemes": obj{
				"bearer":     obj{"type": "http", "scheme": "bearer"},
				"xAuthToken": obj{"type": "apiKey", "in": "header", "name": "X-AUTH-TOKEN"},
			},
		},
	}
}

func (s *Server) openAPI(c *gin.Context) {
	c.JSON(http.StatusOK, s.OpenAPI())
}
