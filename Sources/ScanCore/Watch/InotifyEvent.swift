/// The event bits of inotify(7), as the kernel sets them in `struct inotify_event.mask`.
public struct InotifyMask: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let access = InotifyMask(rawValue: 0x0000_0001)
    public static let modify = InotifyMask(rawValue: 0x0000_0002)
    public static let attrib = InotifyMask(rawValue: 0x0000_0004)
    public static let closeWrite = InotifyMask(rawValue: 0x0000_0008)
    public static let closeNoWrite = InotifyMask(rawValue: 0x0000_0010)
    public static let open = InotifyMask(rawValue: 0x0000_0020)
    public static let movedFrom = InotifyMask(rawValue: 0x0000_0040)
    public static let movedTo = InotifyMask(rawValue: 0x0000_0080)
    public static let create = InotifyMask(rawValue: 0x0000_0100)
    public static let delete = InotifyMask(rawValue: 0x0000_0200)
    public static let deleteSelf = InotifyMask(rawValue: 0x0000_0400)
    public static let moveSelf = InotifyMask(rawValue: 0x0000_0800)
    /// The backing filesystem was unmounted.
    public static let unmount = InotifyMask(rawValue: 0x0000_2000)
    /// The kernel's event queue overflowed: events were lost (wd is -1).
    public static let queueOverflow = InotifyMask(rawValue: 0x0000_4000)
    /// The watch was removed (explicitly, or its directory was deleted or unmounted).
    public static let ignored = InotifyMask(rawValue: 0x0000_8000)
    /// `inotify_add_watch` flags.
    public static let onlyDirectory = InotifyMask(rawValue: 0x0100_0000)
    public static let dontFollow = InotifyMask(rawValue: 0x0200_0000)
    public static let excludeUnlinked = InotifyMask(rawValue: 0x0400_0000)
    /// The subject of the event is a directory.
    public static let isDirectory = InotifyMask(rawValue: 0x4000_0000)

    /// What the queue watcher asks for on every directory of a queue.
    public static let queueWatch: InotifyMask = [.modify, .attrib, .closeWrite, .movedFrom, .movedTo, .create, .delete,
                                                 .deleteSelf, .moveSelf, .onlyDirectory, .excludeUnlinked]
}

/// One `struct inotify_event`: the watch it came from, what happened, and the name of the entry
/// within the watched directory (raw bytes, any byte but NUL and `/`; empty for the directory itself).
public struct InotifyEvent: Sendable, Hashable {
    public var watch: Int32
    public var mask: InotifyMask
    /// Pairs an `IN_MOVED_FROM` with its `IN_MOVED_TO`.
    public var cookie: UInt32
    public var name: [UInt8]

    public init(watch: Int32, mask: InotifyMask, cookie: UInt32 = 0, name: [UInt8] = []) {
        self.watch = watch
        self.mask = mask
        self.cookie = cookie
        self.name = name
    }

    /// The record as the kernel lays it out: wd, mask, cookie, len (host byte order, 4 bytes each),
    /// then `len` bytes of NUL-terminated, NUL-padded name. For tests and the overflow simulation.
    public func encoded(padTo alignment: Int = 16) -> [UInt8] {
        var length = 0
        if !name.isEmpty {
            length = name.count + 1
            let remainder = length % alignment
            if remainder != 0 { length += alignment - remainder }
        }
        var bytes: [UInt8] = []
        for value in [UInt32(bitPattern: watch), mask.rawValue, cookie, UInt32(length)] {
            withUnsafeBytes(of: value) { bytes.append(contentsOf: $0) }
        }
        bytes += name
        bytes += [UInt8](repeating: 0, count: length - name.count)
        return bytes
    }
}

/// Decodes what `read(2)` returned from an inotify descriptor. Pure: bytes in, events out.
public enum InotifyDecoder {
    /// The fixed part of `struct inotify_event`.
    public static let headerSize = 16

    public struct Decoded: Sendable, Hashable {
        public var events: [InotifyEvent]
        /// Bytes at the end that did not make a whole record (the kernel never splits one; a
        /// non-zero value means a malformed buffer, and the caller should treat it as lost events).
        public var leftover: Int
    }

    public static func decode(_ buffer: UnsafeRawBufferPointer) -> Decoded {
        var events: [InotifyEvent] = []
        var offset = 0
        let count = buffer.count
        while count - offset >= headerSize {
            let watch = Int32(bitPattern: buffer.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
            let mask = buffer.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self)
            let cookie = buffer.loadUnaligned(fromByteOffset: offset + 8, as: UInt32.self)
            let length = Int(buffer.loadUnaligned(fromByteOffset: offset + 12, as: UInt32.self))
            guard length <= count - offset - headerSize else { break }
            let start = offset + headerSize
            var end = start
            while end < start + length && buffer[end] != 0 { end += 1 }
            let name = Array(buffer[start..<end])
            events.append(InotifyEvent(watch: watch, mask: InotifyMask(rawValue: mask), cookie: cookie, name: name))
            offset = start + length
        }
        return Decoded(events: events, leftover: count - offset)
    }

    public static func decode(_ bytes: [UInt8]) -> Decoded {
        bytes.withUnsafeBytes { decode($0) }
    }
}
