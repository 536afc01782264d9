// Package ternary decodes BitNet's I2_S tensors and re-encodes their
// ternary codes, bit for bit, as TQ2_0 or Q2_K: types that upstream ggml's
// CPU kernels run.
//
// The three layouts share one arrangement of 2-bit codes: in each chunk of
// 128 elements (32 bytes), byte m holds elements m, 32+m, 64+m and 96+m.
// I2_S puts element 32l+m at bits 7-2l..6-2l with codes 0=-1, 1=0, 2=+1;
// TQ2_0 and Q2_K put it at bits 2l+1..2l with q = value+1, which is the
// same number. Converting is therefore a per-byte reversal of the four bit
// pairs (and code 3, never written, read as 0).
package ternary

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/x448/float16"
)

// ChunkElems is the number of elements in one 32-byte I2_S chunk.
const ChunkElems = 128

// BlockElems is the number of elements in one TQ2_0 or Q2_K block.
const BlockElems = 256

// Sizes of one 256-element block.
const (
	TQ2_0BlockBytes = 66
	Q2KBlockBytes   = 84
)

// I2SCodes is the size of the packed codes of n elements.
func I2SCodes(n int) int { return n / 4 }

// I2SSize is the size of an I2_S tensor of n elements.
func I2SSize(n int) int { return n/4 + 32 }

// I2SScale returns the per-tensor scale of an I2_S tensor of n elements.
func I2SScale(data []byte, n int) (float32, error) {
	if len(data) < I2SSize(n) {
		return 0, fmt.Errorf("I2_S tensor of %d elements needs %d bytes, have %d", n, I2SSize(n), len(data))
	}
	s := math.Float32frombits(binary.LittleEndian.Uint32(data[n/4:]))
	if math.IsNaN(float64(s)) || math.IsInf(float64(s), 0) || s < 0 || s > 65504 {
		return 0, fmt.Errorf("I2_S scale %v is not a finite non-negative number representable in f16", s)
	}
	return s, nil
}

var (
	swapLUT   [256]byte // I2_S byte -> TQ2_0/Q2_K byte
	decodeLUT [256][4]int8
)

func init() {
	for b := 0; b < 256; b++ {
		var out byte
		for l := 0; l < 4; l++ {
			c := byte(b>>(6-2*l)) & 3
			if c == 3 {
				c = 1
			}
			out |= c << (2 * l)
			decodeLUT[b][l] = int8(c) - 1
		}
		swapLUT[b] = out
	}
}

// DecodeI2S writes the ternary values (-1, 0, +1) of the packed I2_S codes
// into dst. len(codes)*4 must equal len(dst) and be a multiple of 128.
func DecodeI2S(dst []int8, codes []byte) {
	for c := 0; c < len(codes); c += 32 {
		out := dst[c*4 : c*4+ChunkElems]
		for m := 0; m < 32; m++ {
			v := &decodeLUT[codes[c+m]]
			out[m], out[32+m], out[64+m], out[96+m] = v[0], v[1], v[2], v[3]
		}
	}
}

// EncodeI2S packs ternary values into I2_S codes followed by the scale and
// 28 zero bytes. len(vals) must be a multiple of 128.
func EncodeI2S(vals []int8, scale float32) []byte {
	out := make([]byte, I2SSize(len(vals)))
	for c := 0; c < len(vals); c += ChunkElems {
		for m := 0; m < 32; m++ {
			var b byte
			for l := 0; l < 4; l++ {
				b |= byte(vals[c+32*l+m]+1) << (6 - 2*l)
			}
			out[c/4+m] = b
		}
	}
	binary.LittleEndian.PutUint32(out[len(vals)/4:], math.Float32bits(scale))
	return out
}

// ToTQ2_0 re-encodes packed I2_S codes (a whole number of 256-element
// blocks) as TQ2_0 blocks with the given scale. dst must hold
// len(codes)/64*66 bytes.
func ToTQ2_0(dst, codes []byte, scale float32) {
	d := float16.Fromfloat32(scale).Bits()
	for b := 0; b*64 < len(codes); b++ {
		src, out := codes[b*64:b*64+64], dst[b*TQ2_0BlockBytes:(b+1)*TQ2_0BlockBytes]
		for i, c := range src {
			out[i] = swapLUT[c]
		}
		binary.LittleEndian.PutUint16(out[64:], d)
	}
}

// ToQ2K re-encodes packed I2_S codes as Q2_K blocks holding the same
// ternary values exactly: every sub-block scale and min is 1 and
// d = dmin = scale, so a code q dequantizes to scale*q - scale.
func ToQ2K(dst, codes []byte, scale float32) {
	d := float16.Fromfloat32(scale).Bits()
	for b := 0; b*64 < len(codes); b++ {
		src, out := codes[b*64:b*64+64], dst[b*Q2KBlockBytes:(b+1)*Q2KBlockBytes]
		for i := 0; i < 16; i++ {
			out[i] = 0x11
		}
		for i, c := range src {
			out[16+i] = swapLUT[c]
		}
		binary.LittleEndian.PutUint16(out[80:], d)
		binary.LittleEndian.PutUint16(out[82:], d)
	}
}

// DecodeTQ2_0 returns the ternary values and the per-block scales of TQ2_0
// data (used by tests to prove that conversion keeps every code).
func DecodeTQ2_0(data []byte) (vals []int8, scales []float32) {
	nb := len(data) / TQ2_0BlockBytes
	vals = make([]int8, nb*BlockElems)
	scales = make([]float32, nb)
	for b := 0; b < nb; b++ {
		blk := data[b*TQ2_0BlockBytes:]
		for j := 0; j < 2; j++ {
			for l := 0; l < 4; l++ {
				for m := 0; m < 32; m++ {
					vals[b*BlockElems+j*128+l*32+m] = int8((blk[j*32+m]>>(2*l))&3) - 1
				}
			}
		}
		scales[b] = float16.Frombits(binary.LittleEndian.Uint16(blk[64:])).Float32()
	}
	return vals, scales
}

// RoundScale is the scale as the converted file stores it (f16).
func RoundScale(s float32) float32 { return float16.Fromfloat32(s).Float32() }

// Sizes of the other ternary and exact-ternary blocks.
const (
	TQ1_0BlockBytes = 54 // 256 elements, base-3 packed
	Q8_0BlockElems  = 32
	Q8_0BlockBytes  = 34 // f16 scale, then 32 int8
)

// EncodeTQ2_0 packs ternary values (a whole number of 256-element blocks)
// as TQ2_0 blocks whose scale is the f16 d (the same for every block).
func EncodeTQ2_0(dst []byte, vals []int8, d uint16) {
	for b := 0; b*BlockElems < len(vals); b++ {
		encodeTQ2_0Block(dst[b*TQ2_0BlockBytes:(b+1)*TQ2_0BlockBytes], vals[b*BlockElems:(b+1)*BlockElems], d)
	}
}

func encodeTQ2_0Block(out []byte, v []int8, d uint16) {
	clear(out[:64])
	for j := 0; j < 2; j++ {
		for l := 0; l < 4; l++ {
			for m := 0; m < 32; m++ {
				out[j*32+m] |= byte(v[j*128+l*32+m]+1) << (2 * l)
			}
		}
	}
	binary.LittleEndian.PutUint16(out[64:], d)
}

// pow3 are the base-3 place values TQ1_0 decodes with (ggml's
// dequantize_row_tq1_0).
var pow3 = [5]uint8{1, 3, 9, 27, 81}

// trit returns trit n (0..4) of a TQ1_0 byte q: ((q·3ⁿ mod 256)·3) >> 8.
func trit(q byte, n int) int8 {
	x := uint16(q * pow3[n]) // the product wraps modulo 256, as in ggml
	return int8((x*3)>>8) - 1
}

// TQ1_0ToTQ2_0 re-encodes TQ1_0 blocks as TQ2_0 blocks with the same
// values and the same per-block scales (exact). dst must hold
// len(src)/54*66 bytes.
func TQ1_0ToTQ2_0(dst, src []byte) {
	var v [BlockElems]int8
	for b := 0; b*TQ1_0BlockBytes < len(src); b++ {
		blk := src[b*TQ1_0BlockBytes : (b+1)*TQ1_0BlockBytes]
		qs, qh := blk[:48], blk[48:52]
		// qs[m], m < 32: trit n is element m + 32n (0..159).
		for m := 0; m < 32; m++ {
			for n := 0; n < 5; n++ {
				v[m+32*n] = trit(qs[m], n)
			}
		}
		// qs[32+m], m < 16: trit n is element 160 + m + 16n (160..239).
		for m := 0; m < 16; m++ {
			for n := 0; n < 5; n++ {
				v[160+m+16*n] = trit(qs[32+m], n)
			}
		}
		// qh[j]: trit n (n < 4) is element 240 + j + 4n.
		for j := 0; j < 4; j++ {
			for n := 0; n < 4; n++ {
				v[240+j+4*n] = trit(qh[j], n)
			}
		}
		encodeTQ2_0Block(dst[b*TQ2_0BlockBytes:(b+1)*TQ2_0BlockBytes], v[:], binary.LittleEndian.Uint16(blk[52:]))
	}
}

// UnifyTQ2_0Scales gives the all-zero blocks of TQ2_0 data (whose scale,
// the block's absmax, llama.cpp's quantizer writes as 0) the scale the
// other blocks share, so the ternary kernels can take the tensor; the
// values do not change. It reports whether every block now has one scale.
func UnifyTQ2_0Scales(data []byte) bool {
	nb := len(data) / TQ2_0BlockBytes
	var common uint16
	have := false
	zero := func(blk []byte) bool {
		for _, c := range blk[:64] {
			if c != 0x55 { // every code 1, i.e. value 0
				return false
			}
		}
		return true
	}
	for b := 0; b < nb; b++ {
		blk := data[b*TQ2_0BlockBytes : (b+1)*TQ2_0BlockBytes]
		if zero(blk) {
			continue
		}
		d := binary.LittleEndian.Uint16(blk[64:])
		if have && d != common {
			return false
		}
		common, have = d, true
	}
	for b := 0; b < nb; b++ {
		blk := data[b*TQ2_0BlockBytes : (b+1)*TQ2_0BlockBytes]
		if zero(blk) {
			binary.LittleEndian.PutUint16(blk[64:], common)
		}
	}
	return true
}

// ToQ8_0 writes ternary values (a whole number of 32-element blocks) as
// Q8_0 blocks with scale d: exact, for rows that are not whole 256-element
// blocks.
func ToQ8_0(dst []byte, vals []int8, d uint16) {
	for b := 0; b*Q8_0BlockElems < len(vals); b++ {
		out := dst[b*Q8_0BlockBytes : (b+1)*Q8_0BlockBytes]
		binary.LittleEndian.PutUint16(out, d)
		for i, v := range vals[b*Q8_0BlockElems : (b+1)*Q8_0BlockElems] {
			out[2+i] = byte(v)
		}
	}
}

// F16 is the f16 bits of s.
func F16(s float32) uint16 { return float16.Fromfloat32(s).Bits() }

// EncodeTQ1_0 packs ternary values (a whole number of 256-element blocks)
// as TQ1_0 blocks with per-block scales d (f16 bits), laid out as ggml's
// quantize_row_tq1_0_ref writes them: five trits a byte, first trit most
// significant, stored as ceil(v·256/243).
func EncodeTQ1_0(dst []byte, vals []int8, d []uint16) {
	pack := func(trits ...int8) byte {
		q := 0
		for _, t := range trits {
			q = q*3 + int(t+1)
		}
		for range 5 - len(trits) {
			q *= 3
		}
		return byte((q*256 + 242) / 243)
	}
	for b := 0; b*BlockElems < len(vals); b++ {
		v := vals[b*BlockElems : (b+1)*BlockElems]
		out := dst[b*TQ1_0BlockBytes : (b+1)*TQ1_0BlockBytes]
		for m := 0; m < 32; m++ {
			out[m] = pack(v[m], v[m+32], v[m+64], v[m+96], v[m+128])
		}
		for m := 0; m < 16; m++ {
			out[32+m] = pack(v[160+m], v[176+m], v[192+m], v[208+m], v[224+m])
		}
		for j := 0; j < 4; j++ {
			out[48+j] = pack(v[240+j], v[244+j], v[248+j], v[252+j])
		}
		binary.LittleEndian.PutUint16(out[52:], d[b])
	}
}
