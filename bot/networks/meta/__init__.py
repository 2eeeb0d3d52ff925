"""What Meta's products share: one webhook URL for an app's Pages, Instagram accounts and
WhatsApp numbers, signed with the app's secret; and payload values of the same shapes. The
network packages (facebook, instagram, whatsapp) build on it; it is not a network itself."""
