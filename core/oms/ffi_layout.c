/* ffi_layout.c — the sizes of the oms structs, for lua/alluse/oms.lua's layout test.
 *
 * The Lua side repeats the struct declarations in ffi.cdef; if a header changes and the
 * cdef does not, LuaJIT would read the wrong bytes silently.  tests/lua/test_oms_ffi.lua
 * compares ffi.sizeof and ffi.offsetof of every struct with these numbers. */
#include <stddef.h>

#include "oms/account.h"
#include "oms/book.h"
#include "oms/exec.h"
#include "oms/fill.h"
#include "oms/order.h"

size_t au_ffi_oms_sizeof(int which);
size_t au_ffi_oms_offsetof(int which);

/* The order of these lists is the test's order: add at the end. */
size_t au_ffi_oms_sizeof(int which)
{
    static const size_t sizes[] = {
        sizeof(oms_posting),  sizeof(oms_lot),   sizeof(oms_position),   sizeof(oms_account),
        sizeof(oms_set),      sizeof(oms_fill),  sizeof(oms_order),      sizeof(oms_bar),
        sizeof(oms_fill_model), sizeof(oms_match), sizeof(oms_commission), sizeof(oms_exec),
        sizeof(oms_order_x),  sizeof(oms_trip),  sizeof(oms_trade),      sizeof(oms_book_event),
        sizeof(oms_book_inst), sizeof(oms_book_slot), sizeof(oms_book_account), sizeof(oms_book),
    };
    if (which < 0 || (size_t)which >= sizeof sizes / sizeof sizes[0]) return 0;
    return sizes[which];
}

/* The offset of the last field of each struct, in the same order: a field inserted or
 * resized anywhere before it moves it. */
size_t au_ffi_oms_offsetof(int which)
{
    static const size_t offs[] = {
        offsetof(oms_posting, ref),        offsetof(oms_lot, basis_cents),
        offsetof(oms_position, lot_cap),   offsetof(oms_account, set),
        offsetof(oms_set, next_seq),       offsetof(oms_fill, kind),
        offsetof(oms_order, updated),      offsetof(oms_bar, volume),
        offsetof(oms_fill_model, participation), offsetof(oms_match, cancel_rest),
        offsetof(oms_commission, max_percent), offsetof(oms_exec, vetoed),
        offsetof(oms_order_x, working),    offsetof(oms_trip, open),
        offsetof(oms_trade, side),         offsetof(oms_book_event, time),
        offsetof(oms_book_inst, list_cap), offsetof(oms_book_slot, trip),
        offsetof(oms_book_account, pad),   offsetof(oms_book, pad),
    };
    if (which < 0 || (size_t)which >= sizeof offs / sizeof offs[0]) return 0;
    return offs[which];
}
