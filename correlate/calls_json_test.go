package correlate

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/sigtrace/sigtrace/internal/render"
)

// TestTimeWriter checks the day-caching time writer against render.AppendTime, on runs of times
// within a day and across days, before 1970, in other zones and in years written another way.
func TestTimeWriter(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	zone := time.FixedZone("x", -5*3600)
	starts := []time.Time{
		time.Date(2026, 11, 23, 23, 59, 58, 999_999_999, time.UTC),
		time.Date(1969, 12, 31, 23, 59, 59, 500_000, time.UTC),
		time.Date(1, 1, 1, 0, 0, 0, 1000, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC),
		time.Date(2024, 2, 29, 12, 0, 0, 0, zone),
		time.Date(-3, 6, 1, 0, 0, 0, 0, time.UTC),
	}
	for _, start := range starts {
		var w timeWriter
		tm := start
		for i := 0; i < 2000; i++ {
			want := string(render.AppendTime(nil, tm))
			if got := string(w.append(nil, tm)); got != want {
				t.Fatalf("%v: got %s, want %s", tm, got, want)
			}
			tm = tm.Add(time.Duration(r.Int64N(int64(3 * time.Hour))))
		}
	}
}
