package ical

import (
	"fmt"
	"io"
	"time"

	"github.com/calgate/calgate"
)

// BusyTitle is the SUMMARY of the events of a busy-time calendar.
const BusyTitle = "Busy"

// RenderBusy writes a calendar that shows busy time only: one VFREEBUSY
// (RFC 5545, section 3.6.4) with a FREEBUSY;FBTYPE=BUSY period per busy
// interval, and, for clients that ignore VFREEBUSY, one opaque VEVENT
// titled "Busy" per interval, without any detail of the entries behind
// it. busy must be sorted and disjoint. UIDs are made of uidBase and the
// interval's start, so that they stay the same from one render to the
// next; stamp is the DTSTAMP of every component.
func RenderBusy(w io.Writer, cal Calendar, uidBase string, busy []calgate.Interval, stamp time.Time) error {
	enc := newEncWriter(w)
	enc.writeCalendarStart(cal)
	stamp = stamp.UTC()
	enc.raw("BEGIN:VFREEBUSY")
	enc.text("UID", uidBase, "-freebusy@calgate")
	enc.timeProp("DTSTAMP", "", stamp, utcLayout)
	if len(busy) > 0 {
		enc.timeProp("DTSTART", "", busy[0].Start.UTC(), utcLayout)
		enc.timeProp("DTEND", "", busy[len(busy)-1].End.UTC(), utcLayout)
	}
	for _, iv := range busy {
		enc.prop("FREEBUSY", ";FBTYPE=BUSY", iv.Start.UTC().Format(utcLayout)+"/"+iv.End.UTC().Format(utcLayout))
	}
	enc.raw("END:VFREEBUSY")
	for _, iv := range busy {
		enc.raw("BEGIN:VEVENT")
		enc.text("UID", uidBase, "-", iv.Start.UTC().Format(utcLayout), "@calgate")
		enc.timeProp("DTSTAMP", "", stamp, utcLayout)
		enc.timeProp("DTSTART", "", iv.Start.UTC(), utcLayout)
		enc.timeProp("DTEND", "", iv.End.UTC(), utcLayout)
		enc.text("SUMMARY", BusyTitle)
		enc.raw("TRANSP:OPAQUE")
		enc.raw("CLASS:PRIVATE")
		enc.raw("END:VEVENT")
		if enc.err != nil {
			break
		}
	}
	enc.raw("END:VCALENDAR")
	if err := enc.flush(); err != nil {
		return fmt.Errorf("ical: render busy time: %w", err)
	}
	return nil
}
