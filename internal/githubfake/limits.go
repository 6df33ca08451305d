package githubfake

import (
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// GitHub's documented secondary rate limits per installation ("Rate limits for the REST
// API", "About secondary rate limits"), counted in the fake's seconds (EnforceLimits).
const (
	// limitConcurrent requests at once.
	limitConcurrent = 100
	// limitPoints per minute: a GET, HEAD or OPTIONS costs 1 point, any other request 5.
	limitPoints = 900
	// limitCreatePerMinute and limitCreatePerHour content-creating requests (POST, PATCH,
	// PUT, DELETE).
	limitCreatePerMinute = 80
	limitCreatePerHour   = 500
)

// SecondaryLimitMessage is GitHub's message when a secondary rate limit refuses a request.
const SecondaryLimitMessage = "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."

// secondaryLimitDocs is the documentation_url GitHub answers with (go-github tells a
// secondary limit by it).
const secondaryLimitDocs = "https://docs.github.com/en/rest/overview/resources-in-the-rest-api#secondary-rate-limits"

// LimitStats says how the requests of the installations fared against the secondary
// limits the fake enforces.
type LimitStats struct {
	// Refused is how many requests a limit refused (403 with Retry-After).
	Refused int
	// Creating is how many content-creating requests were let through.
	Creating int
	// Overlapping is how many creating requests started while another one of the same
	// installation was in flight (GitHub asks for one at a time; it refuses none for it).
	Overlapping int
	// MinGap is the shortest time between the starts of two creating requests of one
	// installation (GitHub asks for a second at least), in the fake's seconds.
	MinGap float64
	// First and Last are when the first and the last creating request started.
	First, Last time.Time
}

// limiter is the per-installation state of the secondary limits.
type limiter struct {
	unit time.Duration

	mu    sync.Mutex
	stats LimitStats
	inst  map[int64]*installationLimits
}

type installationLimits struct {
	inFlight, creatingInFlight int
	creates                    []time.Time // starts of creating requests of the last hour
	points                     []pointsAt  // points spent in the last minute
	lastCreate                 time.Time
}

type pointsAt struct {
	at     time.Time
	points int
}

// EnforceLimits makes the fake refuse what GitHub's secondary rate limits refuse, per
// installation: more than 100 requests at once, more than 900 points a minute (a read
// costs 1, any other request 5), more than 80 content-creating requests a minute or 500
// an hour. A refused request gets GitHub's answer: 403, a Retry-After header (whole
// seconds until the limit admits it again) and GitHub's secondary-limit message, and is
// not served. unit is the fake's second (60 make a minute, 3600 an hour, and Retry-After
// counts them), so that a benchmark runs GitHub's hour in seconds; time.Second is
// GitHub's. Requests authenticated as the App (its JWT) are not limited. Call it before
// the first request; it returns the statistics, read with Stats.
func (f *Fake) EnforceLimits(unit time.Duration) *Limited {
	l := &limiter{unit: unit, inst: map[int64]*installationLimits{}, stats: LimitStats{MinGap: math.Inf(1)}}
	f.Use(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			id := f.InstallationOfToken(credentials(r))
			if id == 0 {
				next.ServeHTTP(w, r)
				return
			}
			creating := r.Method != http.MethodGet && r.Method != http.MethodHead && r.Method != http.MethodOptions
			if wait, ok := l.admit(id, creating, time.Now()); !ok {
				refuseSecondary(w, wait, unit)
				return
			}
			defer l.done(id, creating)
			next.ServeHTTP(w, r)
		})
	})
	return &Limited{l: l}
}

// Limited reads the statistics of the limits a fake enforces.
type Limited struct{ l *limiter }

// Stats returns the statistics so far.
func (x *Limited) Stats() LimitStats {
	x.l.mu.Lock()
	defer x.l.mu.Unlock()
	return x.l.stats
}

// admit counts a request in, or says how long until the limits would take it.
func (l *limiter) admit(id int64, creating bool, now time.Time) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.inst[id]
	if s == nil {
		s = &installationLimits{}
		l.inst[id] = s
	}
	minute, hour := 60*l.unit, 3600*l.unit
	for len(s.creates) > 0 && now.Sub(s.creates[0]) >= hour {
		s.creates = s.creates[1:]
	}
	for len(s.points) > 0 && now.Sub(s.points[0].at) >= minute {
		s.points = s.points[1:]
	}
	cost := 1
	if creating {
		cost = 5
	}
	spent := 0
	for _, p := range s.points {
		spent += p.points
	}
	var wait time.Duration
	switch {
	case s.inFlight >= limitConcurrent:
		wait = l.unit
	case spent+cost > limitPoints:
		// Wait until enough of the minute's points have aged out.
		free := spent + cost - limitPoints
		for _, p := range s.points {
			if free -= p.points; free <= 0 {
				wait = p.at.Add(minute).Sub(now)
				break
			}
		}
	case creating && len(s.creates) >= limitCreatePerHour:
		wait = s.creates[len(s.creates)-limitCreatePerHour].Add(hour).Sub(now)
	case creating && countSince(s.creates, now.Add(-minute)) >= limitCreatePerMinute:
		recent := s.creates[len(s.creates)-limitCreatePerMinute]
		wait = recent.Add(minute).Sub(now)
	}
	if wait > 0 {
		l.stats.Refused++
		return wait, false
	}
	s.inFlight++
	s.points = append(s.points, pointsAt{at: now, points: cost})
	if creating {
		if s.creatingInFlight > 0 {
			l.stats.Overlapping++
		}
		if !s.lastCreate.IsZero() {
			l.stats.MinGap = math.Min(l.stats.MinGap, float64(now.Sub(s.lastCreate))/float64(l.unit))
		}
		if l.stats.First.IsZero() {
			l.stats.First = now
		}
		l.stats.Last = now
		l.stats.Creating++
		s.creatingInFlight++
		s.lastCreate = now
		s.creates = append(s.creates, now)
	}
	return 0, true
}

func (l *limiter) done(id int64, creating bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.inst[id]
	s.inFlight--
	if creating {
		s.creatingInFlight--
	}
}

func countSince(times []time.Time, since time.Time) int {
	n := 0
	for i := len(times) - 1; i >= 0 && times[i].After(since); i-- {
		n++
	}
	return n
}

// refuseSecondary answers as GitHub does when a secondary rate limit refuses a request.
func refuseSecondary(w http.ResponseWriter, wait, unit time.Duration) {
	seconds := int(math.Ceil(float64(wait) / float64(unit)))
	w.Header().Set("Retry-After", strconv.Itoa(max(seconds, 1)))
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusForbidden)
	_ = json.NewEncoder(w).Encode(map[string]string{"message": SecondaryLimitMessage, "documentation_url": secondaryLimitDocs})
}
