package hstest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/mail"
	"strconv"
	"strings"
	"time"
)

// properties lists each object's properties the fake knows; the unique
// ones are added from the options.
var properties = map[string]map[string]bool{
	"contacts": {"email": true, "firstname": true, "lastname": true, "phone": true, "company": true},
	"meetings": {"hs_timestamp": true, "hs_meeting_title": true, "hs_meeting_body": true, "hs_internal_meeting_notes": true,
		"hs_meeting_start_time": true, "hs_meeting_end_time": true, "hs_meeting_location": true, "hs_meeting_outcome": true,
		"hs_meeting_external_url": true, "hubspot_owner_id": true},
	"deals": {"dealname": true, "pipeline": true, "dealstage": true, "amount": true, "closedate": true},
}

var outcomes = map[string]bool{"SCHEDULED": true, "COMPLETED": true, "RESCHEDULED": true, "NO_SHOW": true, "CANCELED": true}

var stages = map[string]bool{"appointmentscheduled": true, "qualifiedtobuy": true, "presentationscheduled": true, "decisionmakerboughtin": true,
	"contractsent": true, "closedwon": true, "closedlost": true}

func (s *Server) unique(objectType string) string {
	switch objectType {
	case "contacts":
		return "email"
	case "meetings":
		return s.o.MeetingIDProperty
	case "deals":
		return s.o.DealIDProperty
	}
	return ""
}

// check validates one record's properties; "" when they are good.
func (s *Server) check(objectType string, props map[string]string) string {
	for k, v := range props {
		if !properties[objectType][k] && k != s.unique(objectType) {
			return fmt.Sprintf(`Property values were not valid: [{"isValid":false,"message":"Property \"%s\" does not exist","error":"PROPERTY_DOESNT_EXIST","name":"%s"}]`, k, k)
		}
		switch {
		case k == "email":
			if a, err := mail.ParseAddress(v); err != nil || a.Address != v {
				return fmt.Sprintf(`Property values were not valid: [{"isValid":false,"message":"Email address %s is invalid","error":"INVALID_EMAIL","name":"email"}]`, v)
			}
		case k == "hs_meeting_outcome" && !outcomes[v]:
			return fmt.Sprintf(`Property values were not valid: [{"isValid":false,"message":"%s was not one of the allowed options","error":"INVALID_OPTION","name":"hs_meeting_outcome"}]`, v)
		case k == "dealstage" && !stages[v]:
			return fmt.Sprintf(`Property values were not valid: [{"isValid":false,"message":"%s is not a valid deal stage","error":"INVALID_OPTION","name":"dealstage"}]`, v)
		case k == "pipeline" && v != "default":
			return fmt.Sprintf(`Property values were not valid: [{"isValid":false,"message":"%s is not a valid pipeline","error":"INVALID_OPTION","name":"pipeline"}]`, v)
		case k == "hs_timestamp" || k == "hs_meeting_start_time" || k == "hs_meeting_end_time":
			if _, err := time.Parse(time.RFC3339, v); err != nil {
				if _, nerr := strconv.ParseInt(v, 10, 64); nerr != nil {
					return fmt.Sprintf(`Property values were not valid: [{"isValid":false,"message":"%s is not a valid datetime","error":"INVALID_DATETIME","name":"%s"}]`, v, k)
				}
			}
		}
	}
	return ""
}

func (s *Server) find(objectType, prop, value string) *object {
	for _, o := range s.objects[objectType] {
		if !o.Archived && strings.EqualFold(o.Properties[prop], value) {
			return o
		}
	}
	return nil
}

func (s *Server) add(objectType string, props map[string]string) *object {
	s.next++
	now := time.Now().UTC().Format(time.RFC3339Nano)
	o := &object{ID: strconv.FormatInt(s.next, 10), Properties: props, CreatedAt: now, UpdatedAt: now}
	s.objects[objectType][o.ID] = o
	return o
}

func (s *Server) batchUpsert(w http.ResponseWriter, r *http.Request, objectType string) {
	if properties[objectType] == nil {
		fail(w, http.StatusNotFound, "OBJECT_NOT_FOUND", "Unable to infer object type from: %s", objectType)
		return
	}
	var in struct {
		Inputs []struct {
			IDProperty         string            `json:"idProperty"`
			ID                 string            `json:"id"`
			Properties         map[string]string `json:"properties"`
			ObjectWriteTraceID string            `json:"objectWriteTraceId"`
		} `json:"inputs"`
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		fail(w, http.StatusBadRequest, "VALIDATION_ERROR", "Invalid input JSON on line 1: %v", err)
		return
	}
	if len(in.Inputs) == 0 || len(in.Inputs) > 100 {
		fail(w, http.StatusBadRequest, "VALIDATION_ERROR", "Batch size must be between 1 and 100, was %d", len(in.Inputs))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	uniq := s.unique(objectType)
	for _, input := range in.Inputs {
		if input.IDProperty != uniq {
			fail(w, http.StatusBadRequest, "VALIDATION_ERROR", "%s is not a unique property of %s", input.IDProperty, objectType)
			return
		}
		props := map[string]string{uniq: input.ID}
		for k, v := range input.Properties {
			props[k] = v
		}
		if msg := s.check(objectType, props); msg != "" {
			fail(w, http.StatusBadRequest, "VALIDATION_ERROR", "%s", msg)
			return
		}
		if objectType == "meetings" && s.find(objectType, uniq, input.ID) == nil && props["hs_timestamp"] == "" {
			fail(w, http.StatusBadRequest, "VALIDATION_ERROR", `Property values were not valid: [{"isValid":false,"message":"hs_timestamp is required","error":"REQUIRED_PROPERTY","name":"hs_timestamp"}]`)
			return
		}
	}
	type result struct {
		ID         string            `json:"id"`
		Properties map[string]string `json:"properties"`
		CreatedAt  string            `json:"createdAt"`
		UpdatedAt  string            `json:"updatedAt"`
		Archived   bool              `json:"archived"`
		New        bool              `json:"new"`
	}
	var results []result
	for _, input := range in.Inputs {
		o := s.find(objectType, uniq, input.ID)
		isNew := o == nil
		if isNew {
			o = s.add(objectType, map[string]string{uniq: input.ID})
			s.Counts.Add("create " + objectType)
		} else {
			s.Counts.Add("update " + objectType)
		}
		for k, v := range input.Properties {
			o.Properties[k] = v
		}
		o.UpdatedAt = time.Now().UTC().Format(time.RFC3339Nano)
		props := map[string]string{}
		for k, v := range o.Properties {
			props[k] = v
		}
		results = append(results, result{ID: o.ID, Properties: props, CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt, New: isNew})
	}
	// HubSpot does not promise the inputs' order in the results.
	for i, j := 0, len(results)-1; i < j; i, j = i+1, j-1 {
		results[i], results[j] = results[j], results[i]
	}
	now := time.Now().UTC().Format(time.RFC3339Nano)
	writeJSON(w, http.StatusOK, map[string]any{"status": "COMPLETE", "results": results, "startedAt": now, "completedAt": now})
}

func (s *Server) createContact(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Properties map[string]string `json:"properties"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		fail(w, http.StatusBadRequest, "VALIDATION_ERROR", "Invalid input JSON: %v", err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if msg := s.check("contacts", in.Properties); msg != "" {
		fail(w, http.StatusBadRequest, "VALIDATION_ERROR", "%s", msg)
		return
	}
	if cur := s.find("contacts", "email", in.Properties["email"]); cur != nil {
		fail(w, http.StatusConflict, "CONFLICT", "Contact already exists. Existing ID: %s", cur.ID)
		return
	}
	o := s.add("contacts", in.Properties)
	s.Counts.Add("create contacts")
	writeJSON(w, http.StatusCreated, o)
}

func (s *Server) archive(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Inputs []struct {
			ID string `json:"id"`
		} `json:"inputs"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || len(in.Inputs) == 0 || len(in.Inputs) > 100 {
		fail(w, http.StatusBadRequest, "VALIDATION_ERROR", "Batch size must be between 1 and 100")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, input := range in.Inputs {
		if o := s.objects["meetings"][input.ID]; o != nil && !o.Archived {
			o.Archived = true
			s.Counts.Add("archive meetings")
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) associate(w http.ResponseWriter, r *http.Request, from, to string) {
	if properties[from] == nil || properties[to] == nil {
		fail(w, http.StatusBadRequest, "VALIDATION_ERROR", "Unknown object types %s, %s", from, to)
		return
	}
	var in struct {
		Inputs []struct {
			From struct {
				ID string `json:"id"`
			} `json:"from"`
			To struct {
				ID string `json:"id"`
			} `json:"to"`
		} `json:"inputs"`
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil || len(in.Inputs) == 0 || len(in.Inputs) > 100 {
		fail(w, http.StatusBadRequest, "VALIDATION_ERROR", "Batch size must be between 1 and 100 (%v)", err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, input := range in.Inputs {
		a, b := s.objects[from][input.From.ID], s.objects[to][input.To.ID]
		if a == nil || b == nil || a.Archived || b.Archived {
			fail(w, http.StatusBadRequest, "VALIDATION_ERROR", "No %s with id %s or no %s with id %s", from, input.From.ID, to, input.To.ID)
			return
		}
	}
	var results []map[string]any
	for _, input := range in.Inputs {
		s.assoc[from+"/"+input.From.ID+"/"+to+"/"+input.To.ID] = true
		s.Counts.Add("associate")
		results = append(results, map[string]any{"fromObjectId": input.From.ID, "toObjectId": input.To.ID,
			"associationTypes": []map[string]any{{"category": "HUBSPOT_DEFINED", "typeId": 200, "label": nil}}})
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "COMPLETE", "results": results})
}
