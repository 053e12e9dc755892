"""REDCap exchange: data dictionary, events, records import and export."""
