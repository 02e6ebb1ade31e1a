// Http1Framer: where each HTTP/1.x message ends in the two byte streams of one connection,
// found from every byte of them (replay has the whole stream; the kernel sees one window per
// syscall). HttpReplay cuts data at these ends so that the kernel's boundary code
// (include/protocols/http1/) is handed one message per chunk, and pairs the n-th request with
// the n-th final response: what following pipelined requests takes.
//
// Framing rules (RFC 9112 section 6): a request's body is chunked, Content-Length or empty; a
// response has no body after HEAD, for 1xx (interim: the final response follows), 204 and 304,
// else chunked, Content-Length, or everything until the connection closes.
//
// Never guessed: where the bytes stop making sense as HTTP/1.x framing -- no start line where a
// message must start, an unreadable or conflicting length, a header block over kMaxHeaderBlock,
// a protocol switch (101, CONNECT), a request while a response without a length is in progress
// -- the framer is lost and says so; it stays lost until restart().
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace difftrace::replay {

// A run of one direction's bytes that belongs to one message (or, once lost, to no known one).
struct FramePiece {
  size_t len = 0;
  bool starts = false;    // a message starts at its first byte
  bool ends = false;      // its last byte is the message's last
  bool final_response = false;  // responses, with ends: a final (not 1xx) response ended
  // Requests, with starts: an earlier request's final response had not ended when this one
  // started (it is pipelined behind it).
  bool behind = false;
  bool unframed = false;  // framing was lost in this data: the rest of it, one piece
};

class Http1Framer {
 public:
  static constexpr size_t kMaxHeaderBlock = 64 * 1024;
  static constexpr size_t kMaxLine = 4096;  // a chunk-size or trailer line

  // Cuts `bytes`, the next bytes of the requests (client to server) or the responses, into
  // pieces appended to `out`, covering all of them in order. Pieces end only where messages
  // end, and where the data ends. When framing is lost in the data, the bytes from the start of
  // the message it was lost in (or from the data's start) are one unframed piece; once lost,
  // every call gives one unframed piece.
  void split(bool requests, std::span<const uint8_t> bytes, std::vector<FramePiece>& out);

  bool lost() const { return lost_; }
  // Both directions at the start of a message, nothing outstanding, not lost.
  void restart();
  // Requests whose header block has ended and whose final response has not.
  size_t outstanding() const { return pending_.size(); }

 private:
  enum class State : uint8_t {
    start,           // the next byte starts a message
    headers,         // inside the start line and header block
    body,            // Content-Length bytes still to come: remaining_
    chunk_size,      // reading a chunk-size line
    chunk_data,      // chunk bytes still to come: remaining_
    chunk_data_end,  // the CRLF after a chunk's data
    trailers,        // trailer lines after the last chunk, up to an empty line
    until_close,     // a response without a length: its body runs to the connection's close
  };
  struct Stream {
    State state = State::start;
    std::string text;      // header block so far, or the current chunk-size / trailer line
    uint64_t remaining = 0;
    bool interim = false;  // responses: the current one is 1xx
  };
  // What the response to a request needs to know about it.
  struct Pending {
    bool head = false;
    bool connect = false;
  };

  // Each consumes from bytes[pos]; they return the new position, or set lost_.
  size_t take_headers(Stream& s, bool requests, std::span<const uint8_t> bytes, size_t pos);
  size_t take_line(Stream& s, std::span<const uint8_t> bytes, size_t pos, bool& done);
  void after_headers(Stream& s, bool requests);
  void end_message(Stream& s, bool requests);
  void after_chunk_size(Stream& s);
  bool plausible_start(const Stream& s, bool requests) const;

  Stream req_;
  Stream resp_;
  std::vector<Pending> pending_;  // requests waiting for their final response, oldest first
  bool lost_ = false;
  // Set when a message ends while splitting; read by split().
  bool ended_ = false;
  bool ended_final_ = false;
};

}  // namespace difftrace::replay
