/// The start of a request's text for a message or a log line (`'Your call is important to u…'`),
/// so errors name the request without printing a whole paragraph.
public func excerpt(_ text: String, limit: Int = 40) -> String {
    text.count <= limit ? text : String(text.prefix(limit - 1)) + "…"
}
