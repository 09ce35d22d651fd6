import { Injectable } from '@nestjs/common';

/** How the hosted pages present the company. */
export interface Branding {
  name: string;
  /** An https:// or same-origin logo URL; none shows the name only. */
  logoUrl: string | null;
  /** CSS colour of buttons and links. */
  color: string;
}

export const DEFAULT_BRANDING: Branding = { name: 'Arbor', logoUrl: null, color: '#1f6feb' };

/** Where the company's look comes from: the settings room's company config, when it is loaded. */
export interface BrandingSource {
  company(): Promise<Partial<Branding> | null>;
}

/**
 * The company branding of the hosted pages: whatever the connected source says, field by field over
 * the defaults. Without a source (or when it has nothing), the defaults.
 */
@Injectable()
export class BrandingService {
  private source: BrandingSource | null = null;
  private last: Branding = DEFAULT_BRANDING;

  connect(source: BrandingSource): void {
    if (this.source) throw new Error('a branding source is already connected');
    this.source = source;
  }

  async current(): Promise<Branding> {
    const company = (await this.source?.company()) ?? null;
    this.last = {
      name: company?.name || DEFAULT_BRANDING.name,
      logoUrl: safeLogo(company?.logoUrl) ?? DEFAULT_BRANDING.logoUrl,
      color: /^#[0-9a-fA-F]{3,8}$/.test(company?.color ?? '')
        ? (company?.color as string)
        : DEFAULT_BRANDING.color,
    };
    return this.last;
  }

  /** The branding last read, for pages that must render synchronously (inside the OAuth provider). */
  cached(): Branding {
    return this.last;
  }
}

function safeLogo(url: string | null | undefined): string | null {
  if (!url) return null;
  return /^https:\/\//.test(url) || (url.startsWith('/') && !url.startsWith('//')) ? url : null;
}
