import Foundation

/// Which master serves each of the 16384 hash slots, and the replicas of each master, as
/// `CLUSTER SLOTS` reported them at one moment.
struct RedisSlotMap: Sendable, Equatable {
    /// Index into `masters` per slot; -1 when no node serves it (a slot being failed over).
    private(set) var owners: [Int16]
    private(set) var masters: [RedisNodeAddress]
    private(set) var replicas: [RedisNodeAddress: [RedisNodeAddress]]

    init(owners: [Int16], masters: [RedisNodeAddress], replicas: [RedisNodeAddress: [RedisNodeAddress]] = [:]) {
        self.owners = owners
        self.masters = masters
        self.replicas = replicas
    }

    func owner(of slot: RedisSlot) -> RedisNodeAddress? {
        let index = Int(owners[slot.value])
        return index >= 0 ? masters[index] : nil
    }

    /// Records a MOVED answer without asking the whole map again.
    mutating func assign(_ slot: RedisSlot, to node: RedisNodeAddress) {
        if let index = masters.firstIndex(of: node) {
            owners[slot.value] = Int16(index)
        } else {
            masters.append(node)
            owners[slot.value] = Int16(masters.count - 1)
        }
    }

    /// Every node the map names, masters first.
    var allNodes: [RedisNodeAddress] {
        masters + masters.flatMap { replicas[$0] ?? [] }
    }

    /// Parses a `CLUSTER SLOTS` reply: `[[start, end, [host, port, id…], replica…]…]`. An empty
    /// host means the node that was asked; `?` (an address not yet known) is skipped.
    /// Nil for a reply that is not that shape or covers no slot.
    static func parse(_ reply: RedisReply, askedNode: RedisNodeAddress) -> RedisSlotMap? {
        guard let ranges = reply.elements else { return nil }
        var owners = [Int16](repeating: -1, count: RedisSlot.count)
        var masters: [RedisNodeAddress] = []
        var replicas: [RedisNodeAddress: [RedisNodeAddress]] = [:]
        func address(_ node: RedisReply) -> RedisNodeAddress? {
            guard let parts = node.elements, parts.count >= 2, var host = parts[0].text, let port = parts[1].integer,
                  host != "?" else { return nil }
            if host.isEmpty { host = askedNode.host }
            return RedisNodeAddress(host: host, port: port)
        }
        for range in ranges {
            guard let parts = range.elements, parts.count >= 3,
                  let start = parts[0].integer, let end = parts[1].integer,
                  0 <= start, start <= end, end < RedisSlot.count,
                  let master = address(parts[2]) else { continue }
            let index: Int
            if let known = masters.firstIndex(of: master) {
                index = known
            } else {
                masters.append(master)
                index = masters.count - 1
            }
            for slot in start...end { owners[slot] = Int16(index) }
            for replica in parts.dropFirst(3).compactMap(address) where !(replicas[master] ?? []).contains(replica) {
                replicas[master, default: []].append(replica)
            }
        }
        guard !masters.isEmpty else { return nil }
        return RedisSlotMap(owners: owners, masters: masters, replicas: replicas)
    }
}

/// A `MOVED` or `ASK` answer from a cluster node: the key's slot is served elsewhere, for good
/// (MOVED: the map is out of date) or for this one command (ASK: the slot is being migrated).
struct RedisRedirect: Error, Sendable, Equatable {
    enum Kind: Sendable { case moved, ask }
    let kind: Kind
    let slot: RedisSlot
    let node: RedisNodeAddress

    /// The redirect an error reply carries, if it is one (`MOVED 3999 127.0.0.1:6381`).
    init?(_ reply: RedisReply) {
        guard let message = reply.errorMessage else { return nil }
        let parts = message.split(separator: " ", maxSplits: 2)
        guard parts.count == 3, let slot = Int(parts[1]), (0..<RedisSlot.count).contains(slot),
              let node = RedisNodeAddress(parts[2]) else { return nil }
        switch parts[0] {
        case "MOVED": kind = .moved
        case "ASK": kind = .ask
        default: return nil
        }
        self.slot = RedisSlot(slot)
        self.node = node
    }

    /// Throws the redirect in `reply`, so a caller in the middle of several commands on one
    /// connection gives up on it and the client repeats the whole on the right node.
    static func check(_ reply: RedisReply) throws {
        if let redirect = RedisRedirect(reply) { throw redirect }
    }
}
