package web

import (
	"encoding/json"
	"net/http"
	"strings"
)

// StudioWorkshops is /studio/workshops: the animators' page for workshops. The page is a shell
// (the form, the import, an empty list); web/static/studio/workshops.js drives the workshops
// API with the session (list, preview, create, edit, cancel, delete, import), so that the page
// and `curl` see the same rules and errors. Without a session it shows the sign-in form.
func (s *Site) StudioWorkshops(w http.ResponseWriter, r *http.Request) error {
	sess, ok := s.sessionOf(r)
	if !ok {
		return s.signInForm(w, r, http.StatusOK, "")
	}
	l := pickLang(w, r)
	// The script's texts, in the page's language, in one data attribute (no inline script).
	msgs := map[string]string{}
	for _, k := range studioWorkshopScriptKeys {
		msgs[k] = l.T("stw." + k)
	}
	b, err := json.Marshal(msgs)
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, "studio_workshops", "stw.title", map[string]any{
		"Who": sess.Principal, "Msgs": string(b), "Languages": filterLanguages, "Weekdays": studioWeekdays(l),
	})
}

// studioWorkshopScriptKeys are the stw.* messages workshops.js uses.
var studioWorkshopScriptKeys = []string{
	"none", "loading", "edit", "cancel", "delete", "cancelled", "deleted", "saved", "created", "confirmdelete",
	"cancelwhole", "cancelone", "cancelgo", "cancelclose", "nonext", "more", "endless", "rrule", "once", "weekly",
	"dates", "custom", "every", "everyn", "until", "times", "removedate", "session", "preview.none", "preview.error",
	"imported", "importerrors", "importwarnings", "newtitle", "edittitle", "status.tentative", "status.confirmed",
	"status.cancelled", "next", "extra", "days", "sessions", "f.title", "f.time", "f.repeat", "f.status", "actions",
}

type weekday struct{ Code, Name, Short string }

// studioWeekdays are the days of the recurrence form, Monday first (ISO 8601, as in France).
func studioWeekdays(l Lang) []weekday {
	codes := []string{"MO", "TU", "WE", "TH", "FR", "SA", "SU"}
	out := make([]weekday, len(codes))
	for i, c := range codes {
		out[i] = weekday{Code: c, Name: l.T("stw.day." + strings.ToLower(c)), Short: l.T("stw.dayshort." + strings.ToLower(c))}
	}
	return out
}
