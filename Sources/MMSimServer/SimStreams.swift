import Foundation
import MMCore
import MMMexc
import MMProto
import MMSim
import MMStrategy
import SwiftProtobuf

/// What the server sends down one WebSocket connection.
public enum StreamOut: Sendable, Equatable {
    case binary([UInt8])
    case text(String)
    /// The server closes the connection (a fault, or an expired listenKey).
    case close
}

/// The public and private channels of MEXC's WebSocket API over the simulator's markets.
/// `publish()`, called every 10 ms, sends what changed to each connection at the cadence it
/// subscribed (`@100ms@` or `@10ms@`): depth diffs numbered with the same versions as REST's
/// `lastUpdateId`, the market's trades, the best bid and ask; and at once the account's orders,
/// fills and balances to connections that hold a valid listenKey.
extension SimulatedMEXC {
    /// A connection's state: its subscriptions and where its frames go.
    struct StreamSession {
        var channels: [String] = []
        let listenKey: String?
        let out: AsyncStream<StreamOut>.Continuation
        /// A frame held back to be sent after the next one (the `reorder` fault).
        var held: [UInt8]?
    }

    /// What the public channels last showed of a pair.
    struct Published {
        var version: Int64 = 0
        var bids: [Dec: Dec] = [:]
        var asks: [Dec: Dec] = [:]
        /// Levels a REST snapshot showed at a version between publishes: sent again in the next
        /// diff even when they are back to their published value, so a book built on that
        /// snapshot ends up right.
        var touchedBids: Set<Dec> = []
        var touchedAsks: Set<Dec> = []
        var prints = 0
        var top: (BookLevel?, BookLevel?) = (nil, nil)
        var fills = 0
        /// When these channels last published (ms): they publish again in the next cadence window.
        var at: Int64 = 0
    }

    static let maxSubscriptions = 30
    /// How often `publish()` runs: the finest cadence a channel can ask for.
    public static let publishEvery: Duration = .milliseconds(10)
    /// The aggregated channels' cadences, in ms, as their names give them (`@100ms@`).
    static let cadences: [Int64] = [100, 10]

    /// What the public channels of `symbol` at `cadence` last showed (the account's own
    /// fills are counted under the symbol alone).
    static func publishedKey(_ symbol: String, _ cadence: Int64) -> String { "\(symbol)@\(cadence)ms" }
    static let listenKeyLifetime: Int64 = 60 * 60_000

    // MARK: listenKeys (`/api/v3/userDataStream`)

    func createListenKey(at t: Int64) -> SimResponse {
        var key = ""
        for _ in 0..<64 { key.append("0123456789abcdef".randomElement()!) }
        listenKeys[key] = t + Self.listenKeyLifetime
        return SimResponse(200, .object([("listenKey", .string(key))]))
    }

    func keepListenKey(_ p: [String: String], at t: Int64) throws(ExchangeError) -> SimResponse {
        guard let key = p["listenKey"], let expiry = listenKeys[key], expiry > t else {
            throw ExchangeError(code: 730001, message: "Invalid listen key")
        }
        listenKeys[key] = t + Self.listenKeyLifetime
        return SimResponse(200, .object([("listenKey", .string(key))]))
    }

    func closeListenKey(_ p: [String: String]) throws(ExchangeError) -> SimResponse {
        guard let key = p["listenKey"], listenKeys.removeValue(forKey: key) != nil else {
            throw ExchangeError(code: 730001, message: "Invalid listen key")
        }
        dropSessions { $0.listenKey == key }
        return SimResponse(200, .object([("listenKey", .string(key))]))
    }

    // MARK: Connections

    /// A new connection; nil when its listenKey is not valid (MEXC refuses the upgrade).
    public func openStream(listenKey: String?) -> (id: Int, frames: AsyncStream<StreamOut>)? {
        if refusingStreams { return nil }
        if let key = listenKey {
            guard let expiry = listenKeys[key], expiry > now() else { return nil }
        }
        let (frames, out) = AsyncStream.makeStream(of: StreamOut.self, bufferingPolicy: .bufferingNewest(10_000))
        nextSessionId += 1
        streamSessions[nextSessionId] = StreamSession(listenKey: listenKey, out: out)
        return (nextSessionId, frames)
    }

    public func closeStream(_ id: Int) {
        streamSessions[id]?.out.finish()
        streamSessions[id] = nil
    }

    public var openStreams: Int { streamSessions.count }

    /// Every listenKey expires at once (as after 60 minutes without a keepalive): their
    /// connections close and new ones with them are refused.
    public func expireListenKeys() {
        listenKeys = [:]
        dropSessions { $0.listenKey != nil }
    }

    /// Drops the connections that match, as a network would: no close handshake.
    func dropSessions(where matches: (StreamSession) -> Bool) {
        for (id, s) in streamSessions where matches(s) {
            s.out.yield(.close)
            streamSessions[id] = nil
        }
    }

    /// While muted, open connections get nothing: no frames, no answer to PING (a connection
    /// that went silent without closing).
    public func muteStreams(_ on: Bool) { mutedStreams = on }

    /// Cuts every WebSocket connection and, while `refuse` holds, refuses new ones (for tests
    /// and demonstrations of the REST fallback).
    public func cutStreams(refuse: Bool) {
        refusingStreams = refuse
        if refuse { dropSessions { _ in true } }
    }

    /// A JSON text frame from a client: SUBSCRIPTION, UNSUBSCRIPTION or PING.
    public func received(_ text: String, on id: Int) {
        guard var session = streamSessions[id], !mutedStreams else { return }
        struct Request: Decodable { var method: String; var params: [String]?; var id: Int? }
        guard let request = try? JSONDecoder().decode(Request.self, from: Data(text.utf8)) else {
            session.out.yield(.text(#"{"id":0,"code":0,"msg":"Invalid request"}"#))
            return
        }
        let reply = { (msg: String) in
            "{\"id\":\(request.id ?? 0),\"code\":0,\"msg\":\(JSONText.string(msg).rendered)}"
        }
        switch request.method.uppercased() {
        case "PING":
            session.out.yield(.text(reply("PONG")))
        case "SUBSCRIPTION":
            let params = request.params ?? []
            let refused = params.filter { !valid($0, privateAllowed: session.listenKey != nil) }
            guard refused.isEmpty, session.channels.count + params.count <= Self.maxSubscriptions else {
                session.out.yield(.text(reply("Not Subscribed successfully! [\(params.joined(separator: ","))].  Reason： Blocked! ")))
                return
            }
            for c in params where !session.channels.contains(c) { session.channels.append(c) }
            streamSessions[id] = session
            session.out.yield(.text(reply(params.joined(separator: ","))))
        case "UNSUBSCRIPTION":
            let params = request.params ?? []
            session.channels.removeAll { params.contains($0) }
            streamSessions[id] = session
            session.out.yield(.text(reply(params.joined(separator: ","))))
        default:
            session.out.yield(.text(reply("Invalid method \(request.method)")))
        }
    }

    /// Channels the simulator serves: the aggregated public channels of its pairs, and the
    /// private channels for connections made with a listenKey.
    func valid(_ channel: String, privateAllowed: Bool) -> Bool {
        if ["spot@private.orders.v3.api.pb", "spot@private.deals.v3.api.pb", "spot@private.account.v3.api.pb"].contains(channel) {
            return privateAllowed
        }
        let parts = channel.split(separator: "@").map(String.init)
        guard parts.count == 4, parts[0] == "spot", ["100ms", "10ms"].contains(parts[2]), pairs[parts[3]] != nil else { return false }
        return ["public.aggre.depth.v3.api.pb", "public.aggre.deals.v3.api.pb", "public.aggre.bookTicker.v3.api.pb"].contains(parts[1])
    }

    // MARK: Publishing

    /// Sends what changed since the last call to every connection subscribed to it.
    public func publish() {
        // Nobody listens: nothing to compute. The next diff covers everything since the last one.
        guard !streamSessions.isEmpty, !mutedStreams else { return }
        let t = now()
        for symbol in order {
            catchUp(symbol)
            guard var pair = pairs[symbol] else { continue }
            // Each cadence that someone follows, once per window of it.
            var frames: [(channel: String, wrapper: PushDataV3ApiWrapper)] = []
            for cadence in Self.cadences {
                let suffix = "@\(cadence)ms@\(symbol)"
                guard streamSessions.values.contains(where: { $0.channels.contains { $0.hasSuffix(suffix) } }) else { continue }
                let key = Self.publishedKey(symbol, cadence)
                var published = self.published[key] ?? Published()
                guard published.at / cadence != t / cadence else { continue }
                published.at = t
                if let depth = depthDiff(pair, &published, at: t, cadence: cadence) { frames.append(("spot@public.aggre.depth.v3.api.pb" + suffix, depth)) }
                if let deals = newDeals(pair, &published, at: t, cadence: cadence) { frames.append(("spot@public.aggre.deals.v3.api.pb" + suffix, deals)) }
                if let ticker = bookTicker(pair, &published, at: t) { frames.append(("spot@public.aggre.bookTicker.v3.api.pb" + suffix, ticker)) }
                self.published[key] = published
            }
            var account = self.published[symbol] ?? Published()
            var privateFrames = privateEvents(&pair, &account, at: t)
            self.published[symbol] = account
            pairs[symbol] = pair
            for (id, var session) in streamSessions {
                var closed = false
                for (channel, var wrapper) in frames where session.channels.contains(channel) {
                    wrapper.channel = channel
                    if !send(wrapper, to: &session, depth: channel.contains("depth")) { closed = true; break }
                }
                if !closed, session.listenKey != nil {
                    for i in privateFrames.indices where session.channels.contains(privateFrames[i].channel) {
                        if !send(privateFrames[i], to: &session, depth: false) { closed = true; break }
                    }
                }
                if closed {
                    counts["stream drop", default: 0] += 1
                    session.out.yield(.close)
                    streamSessions[id] = nil
                } else {
                    streamSessions[id] = session
                }
            }
            privateFrames.removeAll()
        }
    }

    /// Sends one frame through the stream faults; false when the connection is to be dropped.
    func send(_ wrapper: PushDataV3ApiWrapper, to session: inout StreamSession, depth: Bool) -> Bool {
        guard let bytes: [UInt8] = try? wrapper.serializedBytes() else { return true }
        switch faults.streamFault(for: random.uniform()) {
        case .drop?: return false
        case .gap? where depth:
            counts["stream gap", default: 0] += 1
            return true
        case .duplicate?:
            counts["stream duplicate", default: 0] += 1
            session.out.yield(.binary(bytes))
        case .reorder? where session.held == nil:
            counts["stream reorder", default: 0] += 1
            session.held = bytes
            return true
        default: break
        }
        session.out.yield(.binary(bytes))
        if let held = session.held {
            session.out.yield(.binary(held))
            session.held = nil
        }
        return true
    }

    func wrapper(_ symbol: String, at t: Int64) -> PushDataV3ApiWrapper {
        var w = PushDataV3ApiWrapper()
        w.symbol = symbol
        w.sendTime = t
        return w
    }

    /// The levels that changed since the last publish (and those a REST snapshot showed since).
    func depthDiff(_ pair: Pair, _ p: inout Published, at t: Int64, cadence: Int64) -> PushDataV3ApiWrapper? {
        let book = pair.market.engine.book(depth: 5000)
        let bids = Dictionary(uniqueKeysWithValues: book.bids.map { ($0.price, $0.amount) })
        let asks = Dictionary(uniqueKeysWithValues: book.asks.map { ($0.price, $0.amount) })
        func changed(_ now: [Dec: Dec], _ before: [Dec: Dec], _ touched: Set<Dec>) -> [Dec] {
            var prices = touched
            for (price, amount) in now where before[price] != amount { prices.insert(price) }
            for price in before.keys where now[price] == nil { prices.insert(price) }
            return prices.sorted()
        }
        let changedBids = changed(bids, p.bids, p.touchedBids), changedAsks = changed(asks, p.asks, p.touchedAsks)
        guard !changedBids.isEmpty || !changedAsks.isEmpty else { return nil }
        var d = PublicAggreDepthsV3Api()
        func items(_ prices: [Dec], _ side: [Dec: Dec]) -> [PublicAggreDepthV3ApiItem] {
            prices.map { price in
                var item = PublicAggreDepthV3ApiItem()
                item.price = price.description
                item.quantity = (side[price] ?? 0).description
                return item
            }
        }
        d.bids = items(changedBids.reversed(), bids)
        d.asks = items(changedAsks, asks)
        d.eventType = "spot@public.aggre.depth.v3.api.pb@\(cadence)ms"
        let to = max(pair.updateId, p.version + 1)
        d.fromVersion = "\(p.version + 1)"
        d.toVersion = "\(to)"
        d.lastOrderCreateTime = t
        p.version = to
        p.bids = bids
        p.asks = asks
        p.touchedBids = []
        p.touchedAsks = []
        var w = wrapper(pair.symbol, at: t)
        w.publicAggreDepths = d
        return w
    }

    /// A REST snapshot is being served at the pair's current version: remember which levels it
    /// shows differently from the last publish (see `Published.touchedBids`).
    func servedSnapshot(_ symbol: String, _ book: OrderBook) {
        for cadence in Self.cadences {
            let key = Self.publishedKey(symbol, cadence)
            guard var p = published[key] else { continue }
            for l in book.bids where p.bids[l.price] != l.amount { p.touchedBids.insert(l.price) }
            for l in book.asks where p.asks[l.price] != l.amount { p.touchedAsks.insert(l.price) }
            let bids = Set(book.bids.map(\.price)), asks = Set(book.asks.map(\.price))
            for price in p.bids.keys where !bids.contains(price) { p.touchedBids.insert(price) }
            for price in p.asks.keys where !asks.contains(price) { p.touchedAsks.insert(price) }
            published[key] = p
        }
    }

    func newDeals(_ pair: Pair, _ p: inout Published, at t: Int64, cadence: Int64) -> PushDataV3ApiWrapper? {
        let fresh = min(pair.market.printCount - p.prints, pair.market.prints.count)
        p.prints = pair.market.printCount
        guard fresh > 0 else { return nil }
        var d = PublicAggreDealsV3Api()
        d.deals = pair.market.prints.suffix(fresh).enumerated().map { i, print in
            var item = PublicAggreDealsV3ApiItem()
            item.price = print.price.description
            item.quantity = print.quantity.description
            item.tradeType = print.takerSide == .buy ? 1 : 2
            item.time = print.time
            item.tradeID = "\(pair.market.printCount - fresh + i + 1)X1"
            return item
        }
        d.eventType = "spot@public.aggre.deals.v3.api.pb@\(cadence)ms"
        var w = wrapper(pair.symbol, at: t)
        w.publicAggreDeals = d
        return w
    }

    func bookTicker(_ pair: Pair, _ p: inout Published, at t: Int64) -> PushDataV3ApiWrapper? {
        let top = pair.market.engine.book(depth: 1)
        guard let bid = top.bids.first, let ask = top.asks.first, p.top.0 != bid || p.top.1 != ask else { return nil }
        p.top = (bid, ask)
        var b = PublicAggreBookTickerV3Api()
        b.bidPrice = bid.price.description
        b.bidQuantity = bid.amount.description
        b.askPrice = ask.price.description
        b.askQuantity = ask.amount.description
        b.version = "\(pair.updateId)"
        var w = wrapper(pair.symbol, at: t)
        w.publicAggreBookTicker = b
        return w
    }

    /// The account's orders that changed, its new fills, and its balances when anything did.
    func privateEvents(_ pair: inout Pair, _ p: inout Published, at t: Int64) -> [PushDataV3ApiWrapper] {
        var out: [PushDataV3ApiWrapper] = []
        let newFills = pair.fills.suffix(max(0, min(pair.fillCount - p.fills, pair.fills.count)))
        p.fills = pair.fillCount
        for f in newFills {
            pair.touched.insert(f.clientId)
            var d = PrivateDealsV3Api()
            d.price = f.price.description
            d.quantity = f.quantity.description
            d.amount = (f.price * f.quantity).description
            d.tradeType = f.side == .buy ? 1 : 2
            d.isMaker = f.isMaker
            d.tradeID = f.tradeId
            d.clientOrderID = f.clientId
            d.orderID = f.orderId
            d.feeAmount = f.fee.description
            d.feeCurrency = pair.quote
            d.time = f.time
            var w = wrapper(pair.symbol, at: t)
            w.channel = "spot@private.deals.v3.api.pb"
            w.privateDeals = d
            out.append(w)
        }
        guard !pair.touched.isEmpty else { return out }
        var orderFrames: [PushDataV3ApiWrapper] = []
        for clientId in pair.touched.sorted() {
            guard let o = pair.market.engine.order(clientId: clientId) else { continue }
            var u = PrivateOrdersV3Api()
            u.id = o.orderId
            u.clientID = o.clientId
            u.price = o.price.description
            u.quantity = o.quantity.description
            u.amount = (o.price * o.quantity).description
            u.avgPrice = o.executed.isZero ? "0" : o.price.description
            u.orderType = o.type == .limitMaker ? 2 : o.type == .immediateOrCancel ? 3 : 1
            u.tradeType = o.side == .buy ? 1 : 2
            u.remainQuantity = o.remaining.description
            u.remainAmount = (o.remaining * o.price).description
            u.cumulativeQuantity = o.executed.description
            u.cumulativeAmount = (o.executed * o.price).description
            u.status = [OrderStatus.new: 1, .filled: 2, .partiallyFilled: 3, .canceled: 4, .partiallyCanceled: 5][o.status]!
            u.createTime = o.time
            var w = wrapper(pair.symbol, at: t)
            w.channel = "spot@private.orders.v3.api.pb"
            w.privateOrders = u
            orderFrames.append(w)
        }
        pair.touched = []
        for asset in [pair.base, pair.quote] {
            // As MEXC sends it: the account's balance of the asset, over every pair that shares it.
            var free: Dec = 0, locked: Dec = 0
            for symbol in order {
                let other = symbol == pair.symbol ? pair : pairs[symbol]!
                let a = other.market.engine.account
                if other.base == asset { free += a.baseFree; locked += a.baseLocked }
                if other.quote == asset { free += a.quoteFree; locked += a.quoteLocked }
            }
            var b = PrivateAccountV3Api()
            b.vcoinName = asset
            b.balanceAmount = free.description
            b.frozenAmount = locked.description
            b.type = "ENTRUST"
            b.time = t
            var w = wrapper(pair.symbol, at: t)
            w.channel = "spot@private.account.v3.api.pb"
            w.clearSymbol()
            w.privateAccount = b
            orderFrames.append(w)
        }
        return out + orderFrames
    }
}
