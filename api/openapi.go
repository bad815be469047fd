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

func entrySchema(k calgate.Kind) obj {
	props := obj{
		"id":              obj{"type": "string", "readOnly": true},
		"kind":            obj{"type": "string", "readOnly": true, "enum": []string{string(k)}},
		"source":          str("origin system; default api"),
		"external_id":     str("the id in the source system; (source, external_id) is unique per workspace and kind"),
		"title":           str(""),
		"description":     str(""),
		"location":        str(""),
		"start":           str("RFC 3339 with offset, YYYY-MM-DD HH:MM:SS in the entry's timezone, or YYYY-MM-DD (all-day); from 1900-01-01T00:00:00Z to 3000-01-01T00:00:00Z in UTC"),
		"end":             str("as start; exclusive for all-day entries; must be after start, by 3000-01-01T00:00:00Z in UTC"),
		"all_day":         obj{"type": "boolean"},
		"timezone":        str("IANA time zone; default the workspace's"),
		"status":          enum(string(calgate.StatusTentative), string(calgate.StatusConfirmed), string(calgate.StatusCancelled)),
		"attributes":      obj{"type": "object", "additionalProperties": true},
		"version":         obj{"type": "integer", "readOnly": true},
		"created_at":      obj{"type": "string", "format": "date-time", "readOnly": true},
		"updated_at":      obj{"type": "string", "format": "date-time", "readOnly": true},
		"archived_at":     nullable(obj{"type": "string", "format": "date-time", "readOnly": true}),
		k.ResourceField(): str("the resource the entry occupies"),
	}
	switch k {
	case calgate.KindReservation:
		props["customer"] = object(obj{"name": str(""), "email": str(""), "phone": str("")})
		props["quantity"] = nullable(obj{"type": "integer", "minimum": 0})
	case calgate.KindJob:
		props["order"], props["order_item"], props["product"] = str(""), str(""), str("")
	case calgate.KindProductionWindow:
		props["order"], props["position"], props["activity"] = str(""), str(""), str("")
	}
	return obj{"type": "object", "properties": props, "required": []string{"external_id", "start", k.ResourceField()}, "additionalProperties": false}
}

func coreSchemas() obj {
	fieldError := object(obj{"field": str(""), "message": str("")})
	item := object(obj{"index": obj{"type": "integer"}, "ref": str(""), "external_id": str(""), "operation": enum("created", "updated", "unchanged", "failed", "archived", "skipped"),
		"id": str(""), "version": obj{"type": "integer"}, "errors": arrayOf(fieldError), "reason": str(""),
		"conflicts": arrayOf(object(obj{"entry_id": str("an entry this one overlaps beyond its resource's capacity"), "kind": str(""), "external_id": str(""),
			"resource": str(""), "start": strFmt("date-time"), "end": strFmt("date-time")}))})
	s := obj{
		"Problem": object(obj{"type": str("problem type URI: urn:calgate:problem:invalid-input, unauthorized, not-found, conflict, double-booking (a write refused by the reject conflict policy), too-large, too-slow"),
			"title": str(""), "status": obj{"type": "integer"}, "detail": str(""), "instance": str(""), "errors": arrayOf(fieldError),
			"conflicts": arrayOf(object(obj{"entry_id": str("an entry the refused write would overlap"), "kind": str(""), "external_id": str(""), "resource": str(""),
				"start": strFmt("date-time"), "end": strFmt("date-time")}))}),
		"Health": object(obj{"status": str(""), "checks": obj{"type": "object", "additionalProperties": obj{"type": "string"}}}),
		"Patch":  obj{"type": "object", "description": "JSON merge patch (RFC 7386) of the entry's fields", "additionalProperties": true},
		"BulkResult": object(obj{"simulated": obj{"type": "boolean"}, "created": obj{"type": "integer"}, "updated": obj{"type": "integer"}, "unchanged": obj{"type": "integer"},
			"failed": obj{"type": "integer"}, "archived": obj{"type": "integer"}, "skipped": obj{"type": "integer"}, "stopped": obj{"type": "boolean"},
			"errors": arrayOf(item), "operations": arrayOf(item)}),
		"Workspace": object(obj{"id": str(""), "name": str(""), "timezone": str(""), "created_at": strFmt("date-time")}),
		"Token": object(obj{"id": str(""), "workspace_id": str(""), "user": str(""), "name": str(""), "prefix": str("the first characters of the secret"),
			"admin": obj{"type": "boolean"}, "created_at": strFmt("date-time"), "last_used_at": nullable(strFmt("date-time"))}),
		"TokenRequest": object(obj{"name": str("required"), "user": str("default: the caller's user"), "admin": obj{"type": "boolean"}}),
		"TokenCreated": object(obj{"id": str(""), "name": str(""), "user": str(""), "prefix": str(""), "token": str("the secret, shown only in this answer")}),
		"AuthTest":     object(obj{"ok": obj{"type": "boolean"}, "workspace": ref("Workspace"), "user": str(""), "token_id": str(""), "admin": obj{"type": "boolean"}}),
		"Event": object(obj{"id": str("stable id, for de-duplication"), "position": obj{"type": "integer"}, "type": enum(eventTypes()...),
			"created_at": strFmt("date-time"), "actor": str("user/token id"), "data": obj{"type": "object", "description": "entry events: {kind, entry, diff}"}}),
		"HistoryItem": object(obj{"version": obj{"type": "integer"}, "type": enum(eventTypes()...), "at": strFmt("date-time"), "user": str(""), "token_id": str(""),
			"diff": obj{"type": "object", "additionalProperties": object(obj{"from": obj{}, "to": obj{}})}}),
	}
	for _, name := range []string{"Token", "Event", "HistoryItem"} {
		s["List_"+name] = listOf(name)
	}
	for _, k := range calgate.Kinds {
		name := "Entry_" + string(k)
		s[name] = entrySchema(k)
		s["List_"+name] = listOf(name)
		s["BulkRequest_"+string(k)] = object(obj{"items": obj{"type": "array", "maxItems": MaxBulkItems, "items": ref(name)},
			"simulate": obj{"type": "boolean"}, "verbose": obj{"type": "boolean"}, "stop_on_error": obj{"type": "boolean"}})
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
		if !r.Public {
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
	return obj{
		"openapi": "3.0.3",
		"info":    obj{"title": "calgate", "version": "1", "description": "Calendar and webhook synchronization gateway."},
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
