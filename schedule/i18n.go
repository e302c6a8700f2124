package schedule

import (
	"fmt"
	"strings"
	"time"
)

// Languages are the instance languages the feeds speak (Options.Language). Pages follow each
// visitor's language (web/i18n.go); a calendar or a feed has no visitor, so it follows the
// instance.
var Languages = []string{"en", "fr"}

// texts are the words schedule writes into what it publishes: calendar and feed names, the
// labels of event descriptions, the notes of a rescheduled workshop. Format verbs: %[1]s is the
// site name, %[2]s a slug.
type texts struct {
	lang string // BCP 47 tag of the texts: X-WR-CALNAME has none, Atom's xml:lang does

	calendarAll, calendarSoftware, calendarSeries string
	atomAll, atomSoftware                         string

	replay, animator, language, software, registration, location, starts string

	rescheduleNote        string // %q title, %s URL
	rescheduleNotePrivate string
	rescheduleTitle       string // %s software list

	weekdays [7]string  // Sunday first, as time.Weekday
	months   [12]string // January first
}

// when writes the local time of an occurrence for people: "Tuesday 3 March 2026, 18:00–19:30
// (Europe/Paris)"; the zone is named because readers may live elsewhere.
func (t *texts) when(start time.Time, d time.Duration) string {
	end := start.Add(d)
	s := fmt.Sprintf("%s %d %s %d, %s", t.weekdays[start.Weekday()], start.Day(), t.months[start.Month()-1], start.Year(), start.Format("15:04"))
	if d > 0 {
		if y, m, dd := end.Date(); y == start.Year() && m == start.Month() && dd == start.Day() {
			s += "–" + end.Format("15:04")
		} else {
			s += " – " + fmt.Sprintf("%s %d %s %d, %s", t.weekdays[end.Weekday()], end.Day(), t.months[end.Month()-1], end.Year(), end.Format("15:04"))
		}
	}
	return s + " (" + start.Location().String() + ")"
}

var allTexts = map[string]*texts{
	"en": {
		lang:             "en",
		calendarAll:      "%[1]s workshops",
		calendarSoftware: "%[1]s workshops: %[2]s",
		calendarSeries:   "%[1]s series: %[2]s",
		atomAll:          "%[1]s: upcoming workshops",
		atomSoftware:     "%[1]s: upcoming workshops on %[2]s",
		replay:           "Replay: ",
		animator:         "Animator: ",
		language:         "Language: ",
		software:         "Software: ",
		registration:     "Registration: ",
		location:         "Where: ",
		starts:           "When: ",

		rescheduleNote:        "Re-recording of the replay %q (%s), outdated by newer releases.",
		rescheduleNotePrivate: "Re-recording of an earlier workshop, outdated by newer releases.",
		rescheduleTitle:       "Re-recording: %s",

		weekdays: [7]string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"},
		months: [12]string{"January", "February", "March", "April", "May", "June", "July", "August", "September",
			"October", "November", "December"},
	},
	"fr": {
		lang:             "fr",
		calendarAll:      "Ateliers %[1]s",
		calendarSoftware: "Ateliers %[1]s : %[2]s",
		calendarSeries:   "Série %[1]s : %[2]s",
		atomAll:          "%[1]s : ateliers à venir",
		atomSoftware:     "%[1]s : ateliers à venir sur %[2]s",
		replay:           "Rediffusion : ",
		animator:         "Animation : ",
		language:         "Langue : ",
		software:         "Logiciels : ",
		registration:     "Inscription : ",
		location:         "Lieu : ",
		starts:           "Quand : ",

		rescheduleNote:        "Nouvel enregistrement de la rediffusion %q (%s), rendue obsolète par de nouvelles versions.",
		rescheduleNotePrivate: "Nouvel enregistrement d’un atelier précédent, rendu obsolète par de nouvelles versions.",
		rescheduleTitle:       "Nouvel enregistrement : %s",

		weekdays: [7]string{"dimanche", "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi"},
		months: [12]string{"janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
			"octobre", "novembre", "décembre"},
	},
}

// textsFor returns the texts of lang ("" is English), or an error naming the languages known.
func textsFor(lang string) (*texts, error) {
	if lang == "" {
		lang = "en"
	}
	t, ok := allTexts[lang]
	if !ok {
		return nil, fmt.Errorf("schedule: language %q: want one of %s", lang, strings.Join(Languages, ", "))
	}
	return t, nil
}

// CheckLanguage validates an instance language (cmd/atelier checks -language with it).
func CheckLanguage(lang string) error {
	_, err := textsFor(lang)
	return err
}
