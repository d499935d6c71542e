/* Probe guest entry. netvm (or any PVH loader) finds the entry in the
 * XEN_ELFNOTE_PHYS32_ENTRY note and starts us in 32-bit protected mode,
 * paging off, flat segments, %ebx = struct hvm_start_info. */
	.section .note.Xen, "a"
	.align 4
	.long 4			/* name size: "Xen\0" */
	.long 4			/* descriptor size */
	.long 18		/* XEN_ELFNOTE_PHYS32_ENTRY */
	.asciz "Xen"
	.long _start

	.section .text.start, "ax"
	.code32
	.globl _start
_start:
	mov $stack_top, %esp
	push %ebx
	call probe_main
1:	hlt
	jmp 1b

	.section .bss
	.align 16
	.space 16384
stack_top:

	.section .note.GNU-stack, "", @progbits
