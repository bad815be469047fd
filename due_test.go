package calgate

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

type recordedJobs struct {
	jobs []Job
	fail string // the row id whose enqueue fails
}

func (r *recordedJobs) Enqueue(_ context.Context, j Job) error {
	if r.fail != "" && strings.HasPrefix(j.ID, r.fail+":") {
		return errors.New("queue down")
	}
	r.jobs = append(r.jobs, j)
	return nil
}

// TestEnqueueDueMakesOneJobPerRowAndTriesEveryRow: each claimed row
// becomes a job naming its workspace and id, whose id is the row and its
// due time; a failing enqueue and a failed claim are reported, and the
// other rows still go.
func TestEnqueueDueMakesOneJobPerRowAndTriesEveryRow(t *testing.T) {
	due := time.Date(2027, 3, 1, 8, 0, 0, 0, time.UTC)
	rows := []*Subscription{
		{ID: "sub_a", WorkspaceID: "ws_1", NextPollAt: due},
		{ID: "sub_b", WorkspaceID: "ws_1", NextPollAt: due.Add(time.Minute)},
		{ID: "sub_c", WorkspaceID: "ws_2", NextPollAt: due.Add(time.Hour)},
	}
	name := (*Subscription).DueRow
	jobs := &recordedJobs{fail: "sub_b"}
	err := EnqueueDue(context.Background(), jobs, "poll", rows, errors.New("claim timed out"), name)
	if err == nil || !strings.Contains(err.Error(), "claim timed out") || !strings.Contains(err.Error(), "sub_b") {
		t.Fatalf("err = %v, want the claim's error and sub_b's", err)
	}
	want := []Job{
		{Type: "poll", Payload: []byte(`{"workspace_id":"ws_1","id":"sub_a"}`), ID: "sub_a:1803888000"},
		{Type: "poll", Payload: []byte(`{"workspace_id":"ws_2","id":"sub_c"}`), ID: "sub_c:1803891600"},
	}
	if len(jobs.jobs) != len(want) {
		t.Fatalf("jobs = %+v, want %+v", jobs.jobs, want)
	}
	for i, j := range jobs.jobs {
		if j.Type != want[i].Type || string(j.Payload) != string(want[i].Payload) || j.ID != want[i].ID {
			t.Errorf("job %d = %s %s %s, want %s %s %s", i, j.Type, j.Payload, j.ID, want[i].Type, want[i].Payload, want[i].ID)
		}
	}
	for _, j := range jobs.jobs {
		if d, err := ParseDueRow(j.Payload); err != nil || d.ID == "" || d.WorkspaceID == "" {
			t.Errorf("ParseDueRow(%s) = %+v, %v", j.Payload, d, err)
		}
	}
	if _, err := ParseDueRow([]byte(`{"workspace_id":"ws_1"}`)); err == nil {
		t.Error("ParseDueRow accepted a payload without an id")
	}
	jobs = &recordedJobs{}
	if err := EnqueueDue(context.Background(), jobs, "poll", rows, nil, name); err != nil || len(jobs.jobs) != 3 {
		t.Fatalf("EnqueueDue = %v with %d jobs, want 3 and no error", err, len(jobs.jobs))
	}
}
