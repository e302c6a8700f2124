package main

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestScheduleRoutes goes through the real route table: writes need a token, feeds are public and
// not shadowed by the workshop pages, links use the public URL.
func TestScheduleRoutes(t *testing.T) {
	base, _ := startServer(t, map[string]string{"ATELIER_ADMIN_TOKEN": "test-admin-token", "ATELIER_TIMEZONE": "Europe/Paris"})
	do := func(method, path, token, ctype, body string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	w := `{"title":"Atelier découverte","starts_at":"2036-03-04T18:00:00","timezone":"Europe/Paris","duration":"PT1H30M","recurrence":"FREQ=WEEKLY;BYDAY=TU;COUNT=6"}`
	if resp, body := do("POST", "/api/workshops", "", "application/json", w); resp.StatusCode != 401 {
		t.Fatalf("create without token: %d %s", resp.StatusCode, body)
	}
	resp, body := do("POST", "/api/workshops", "test-admin-token", "application/json", w)
	if resp.StatusCode != 201 {
		t.Fatalf("create: %d %s", resp.StatusCode, body)
	}
	var created struct {
		ID    string `json:"id"`
		UID   string `json:"uid"`
		Links struct{ ICS, Webcal string }
	}
	if err := json.Unmarshal([]byte(body), &created); err != nil {
		t.Fatal(err)
	}
	if created.Links.ICS != base+"/workshops/"+created.ID+".ics" || !strings.HasPrefix(created.Links.Webcal, "webcal://127.0.0.1:") {
		t.Errorf("links %+v", created.Links)
	}
	for _, path := range []string{"/calendar.ics", "/workshops/" + created.ID + ".ics"} {
		resp, body := do("GET", path, "", "", "")
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/calendar; charset=utf-8" ||
			!strings.Contains(body, "UID:"+created.UID) || !strings.Contains(body, "BEGIN:VTIMEZONE") {
			t.Errorf("GET %s: %d %s\n%s", path, resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
	}
	if resp, body := do("GET", "/api/workshops", "", "", ""); resp.StatusCode != 200 || !strings.Contains(body, created.ID) {
		t.Errorf("list: %d %s", resp.StatusCode, body)
	}
	if resp, _ := do("POST", "/api/workshops/"+created.ID+"/cancel", "", "", ""); resp.StatusCode != 401 {
		t.Errorf("cancel without token: %d", resp.StatusCode)
	}
	if resp, _ := do("POST", "/api/workshops/import", "", "text/calendar", "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"); resp.StatusCode != 401 {
		t.Errorf("import without token: %d", resp.StatusCode)
	}
}
