/**
 * Query-string conversions for DTOs. Only exact spellings convert; anything else stays a string
 * and fails validation with a message that names the parameter.
 */
export const toInt = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' && /^\d{1,16}$/.test(value.trim()) ? Number(value.trim()) : value;

export const toBoolean = ({ value }: { value: unknown }): unknown => {
  if (typeof value !== 'string') return value;
  const v = value.trim().toLowerCase();
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  return value;
};
